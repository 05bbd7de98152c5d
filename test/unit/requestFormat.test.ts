import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeHtml, formatBytes } from '../../core/text.js';
import { formatClock, formatDuration, headerViews, statusClass, toDetail, toRow } from '../../extension/requestLog/format.js';
import { requestRecord as record } from '../helpers.js';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
const XSS = '/<img src=x onerror=alert(1)>';

test('a row keeps the request path verbatim, as text', () => {
  const row = toRow(7, record({ path: XSS, method: 'POST', status: 404, responseBytes: 2048, durationMs: 1530 }));
  assert.is(row.path, XSS);
  assert.is(row.seq, 7);
  assert.is(row.method, 'POST');
  assert.is(row.status, '404');
  assert.is(row.statusClass, 'client-error');
  assert.is(row.duration, '1.53 s');
  assert.is(row.size, '2.0 KiB');
  assert.is(row.time, formatClock(T0));
  assert.is(toDetail(7, record({ path: XSS })).summary, `GET ${XSS} → 200`);
});

test('a response the agent compressed shows its size before and after', () => {
  const compressed = record({ responseBytes: 204_800, compression: { encoding: 'br', bytes: 40_960 } });
  assert.is(toRow(1, compressed).size, '200 KiB → 40 KiB');
  assert.ok(toDetail(1, compressed).facts.some(([name, value]) => name === 'Compressed' && value.startsWith('40 KiB with br')));
});

test('failed and replayed requests are marked', () => {
  const failed = toRow(1, record({ status: undefined, error: 'connect ECONNREFUSED 127.0.0.1:5173' }));
  assert.is(failed.status, 'failed');
  assert.is(failed.statusClass, 'failed');
  assert.ok(failed.note.includes('ECONNREFUSED'));
  const replay = toRow(2, record({ replayOf: 1 }));
  assert.ok(replay.replay);
  assert.ok(replay.note.startsWith('Replay of request #1'));
  assert.not.ok(failed.replay);
});

test('status classes', () => {
  assert.is(statusClass({ status: 101 }), 'info');
  assert.is(statusClass({ status: 204 }), 'success');
  assert.is(statusClass({ status: 304 }), 'redirect');
  assert.is(statusClass({ status: 401 }), 'client-error');
  assert.is(statusClass({ status: 503 }), 'server-error');
  assert.is(statusClass({ status: 502, error: 'x' }), 'failed');
  assert.is(statusClass({}), 'failed');
});

test('detail: headers as the visitor and the local server saw them, facts, and both bodies', () => {
  const sent = ['Content-Type', 'application/x-www-form-urlencoded', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'];
  const detail = toDetail(
    3,
    record({
      method: 'POST',
      requestBytes: 9,
      requestBody: Buffer.from('name=test'),
      requestHeaders: sent,
      localRequestHeaders: sent,
      remote: '203.0.113.9',
      replayOf: 1,
    }),
    1,
  );
  assert.equal(detail.request.headers, [
    { name: 'Content-Type', visitor: 'application/x-www-form-urlencoded', local: 'application/x-www-form-urlencoded' },
    { name: 'Set-Cookie', visitor: 'a=1', local: 'a=1' },
    { name: 'Set-Cookie', visitor: 'b=2', local: 'b=2' },
  ]);
  assert.is(detail.request.line, 'POST / HTTP/1.1');
  assert.is(detail.response.line, 'HTTP/1.1 200');
  assert.is(detail.request.body.kind, 'form');
  assert.is(detail.request.body.raw, 'name=test');
  assert.is(detail.response.body.raw, 'hello');
  assert.is(detail.originalSeq, 1);
  assert.is(detail.replayProblem, undefined);
  assert.ok(detail.facts.some(([k, v]) => k === 'Client' && v === '203.0.113.9'));
  assert.ok(detail.facts.some(([k, v]) => k === 'Replay of' && v === 'request #1'));
  assert.equal(headerViews(['a', '1', 'dangling'], ['a', '1']), [{ name: 'a', visitor: '1', local: '1' }]);
});

test('detail: a header the agent changed, dropped or moved shows both values, matched by name and order', () => {
  const detail = toDetail(
    4,
    record({
      requestHeaders: [
        'Host',
        'myapp.example.dev',
        'Origin',
        'https://myapp.example.dev',
        'X-Forwarded-Host',
        'myapp.example.dev',
        'Accept',
        'a',
        'Accept',
        'b',
      ],
      localRequestHeaders: ['Origin', 'http://localhost:5173', 'Accept', 'a', 'Accept', 'b', 'host', 'localhost:5173'],
      responseHeaders: ['Location', 'http://localhost:5173/landed', 'X-Extra', '1'],
      visitorResponseHeaders: ['Location', 'https://myapp.example.dev/landed'],
    }),
  );
  assert.equal(detail.request.headers, [
    { name: 'Host', visitor: 'myapp.example.dev', local: 'localhost:5173' },
    { name: 'Origin', visitor: 'https://myapp.example.dev', local: 'http://localhost:5173' },
    { name: 'X-Forwarded-Host', visitor: 'myapp.example.dev', local: null },
    { name: 'Accept', visitor: 'a', local: 'a' },
    { name: 'Accept', visitor: 'b', local: 'b' },
  ]);
  assert.equal(detail.response.headers, [
    { name: 'Location', visitor: 'https://myapp.example.dev/landed', local: 'http://localhost:5173/landed' },
    { name: 'X-Extra', visitor: null, local: '1' },
  ]);
});

test('detail: the Edit and Replay form starts from the request, without Content-Length', () => {
  const json = record({
    method: 'PUT',
    path: '/api/items/7',
    requestHeaders: ['Content-Type', 'application/json', 'Content-Length', '9', 'X-Trace', 'a:b'],
    requestBytes: 9,
    requestBody: Buffer.from('{"a":"b"}'),
  });
  assert.equal(toDetail(1, json).edit, {
    method: 'PUT',
    path: '/api/items/7',
    headers: 'Content-Type: application/json\nX-Trace: a:b',
    body: '{"a":"b"}',
    bodyNote: undefined,
  });
  const binary = toDetail(2, record({ method: 'POST', requestBytes: 3, requestBody: Buffer.from([0, 1, 2]) }));
  assert.is(binary.edit.body, undefined, 'a binary body is not edited as text');
  assert.match(binary.edit.bodyNote ?? '', /exactly as it was/);
  const cut = toDetail(3, record({ method: 'POST', requestBytes: 10_000, requestBody: Buffer.from('abc'), requestBodyTruncated: true }));
  assert.is(cut.edit.body, 'abc', 'the part kept, to edit');
  assert.match(cut.edit.bodyNote ?? '', /more than the 3 B kept/);
  assert.match(cut.replayProblem ?? '', /cut at 3 B/);
});

test('detail: a failed request says why, and a replay of a request no longer logged says so', () => {
  const failed = toDetail(1, record({ status: undefined, error: 'Nothing is listening', replayOf: 9 }));
  assert.is(failed.response.line, 'No response: Nothing is listening');
  assert.ok(failed.facts.some(([k, v]) => k === 'Replay of' && v === 'a request no longer in the log'));
  assert.is(failed.originalSeq, undefined);
});

test('formatting helpers', () => {
  assert.is(formatBytes(0), '0 B');
  assert.is(formatBytes(1023), '1023 B');
  assert.is(formatBytes(1536), '1.5 KiB');
  assert.is(formatBytes(100 * 1024 * 1024), '100 MiB');
  assert.is(formatDuration(0.2), '<1 ms');
  assert.is(formatDuration(12.4), '12 ms');
  assert.is(formatDuration(12_345), '12.3 s');
  assert.is(formatDuration(61_000), '1 min 1 s');
  assert.match(formatClock(T0), /^\d\d:\d\d:\d\d\.006$/);
  assert.is(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
});

test.run();
