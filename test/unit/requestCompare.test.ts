import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compare, compareHeaders, diffText } from '../../extension/requestLog/compare.js';
import { requestRecord as record } from '../helpers.js';

test('compare: facts, header changes and a body diff with context', () => {
  const original = record({
    requestHeaders: ['X-Mode', 'test', 'Accept', '*/*'],
    responseBody: Buffer.from('a\nb\nc\nd\ne\nf\ng\nh\ni\n'),
    responseBytes: 18,
  });
  const replay = record({
    id: 2,
    replayOf: 1,
    status: 500,
    requestHeaders: ['X-Mode', 'live', 'X-New', '1', 'Accept', '*/*'],
    responseBody: Buffer.from('a\nb\nc\nd\nE\nf\ng\nh\ni\n'),
    responseBytes: 18,
  });
  const c = compare(1, original, 2, replay);
  assert.equal(c.facts[1], { label: 'Status', original: '200', replay: '500', same: false });
  assert.equal(c.requestHeaders, [
    { name: 'X-Mode', change: 'changed', original: 'test', replay: 'live' },
    { name: 'Accept', change: 'same', original: '*/*', replay: '*/*' },
    { name: 'X-New', change: 'added', replay: '1' },
  ]);
  assert.is(c.requestBody.note, 'neither has a body');
  assert.equal(c.responseBody.lines, [
    ['…', '1 unchanged line'],
    [' ', 'b'],
    [' ', 'c'],
    [' ', 'd'],
    ['-', 'e'],
    ['+', 'E'],
    [' ', 'f'],
    [' ', 'g'],
    [' ', 'h'],
    ['…', '1 unchanged line'],
  ]);
  assert.is(c.responseBody.note, '1 line removed, 1 added');
  assert.equal(compareHeaders(['Set-Cookie', 'a', 'Set-Cookie', 'b'], ['set-cookie', 'a']), [
    { name: 'Set-Cookie', change: 'changed', original: 'a\nb', replay: 'a' },
  ]);
});

test('compare: bodies too different to diff are said to be, quickly', () => {
  const left = Array.from({ length: 20_000 }, (_, i) => `line ${i}`).join('\n');
  const right = Array.from({ length: 20_000 }, (_, i) => `other ${i}`).join('\n');
  assert.is(diffText(left, right).note, 'the bodies differ too much to show line by line');
});

test.run();
