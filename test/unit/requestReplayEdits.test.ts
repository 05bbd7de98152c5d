import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { replayRequest } from '../../extension/requestLog/replayEdits.js';
import { requestRecord as record } from '../helpers.js';

test('replay edits: checked, with a sentence for each mistake', () => {
  const original = record({ method: 'POST', requestHeaders: ['A', '1'], requestBytes: 2, requestBody: Buffer.from('hi') });
  assert.equal(replayRequest(original), { method: 'POST', path: '/', headers: ['A', '1'], body: Buffer.from('hi') });
  assert.equal(replayRequest(original, { method: 'PUT', path: '/x?y=1', headers: 'A: 2\n\nB:  spaced  \r\nC:', body: 'new' }), {
    method: 'PUT',
    path: '/x?y=1',
    headers: ['A', '2', 'B', 'spaced', 'C', ''],
    body: Buffer.from('new'),
  });
  assert.equal((replayRequest(original, { method: 'GET', path: '/', headers: '' }) as { body: Buffer }).body, Buffer.from('hi'));
  assert.match(replayRequest(original, { method: 'G T', path: '/', headers: '' }) as string, /is not an HTTP method/);
  assert.match(replayRequest(original, { method: 'GET', path: 'x', headers: '' }) as string, /must start with “\/”/);
  assert.match(replayRequest(original, { method: 'GET', path: '/a b', headers: '' }) as string, /no spaces/);
  assert.match(replayRequest(original, { method: 'GET', path: '/', headers: 'no colon' }) as string, /Header line 1 is not “Name: value”/);
  assert.match(replayRequest(original, { method: 'GET', path: '/', headers: 'Bad Name: x' }) as string, /Header line 1/);
  assert.match(replayRequest(original, { method: 'GET', path: '/', headers: 'A: x\u0001' }) as string, /control character/);
  const cut = record({ requestBytes: 10, requestBody: Buffer.from('h'), requestBodyTruncated: true });
  assert.match(replayRequest(cut) as string, /cannot be replayed exactly/);
  assert.match(replayRequest(cut, { method: 'GET', path: '/', headers: '' }) as string, /type the body to send/);
});

test.run();
