import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RequestRecord } from '../../extension/agent/requestRecord.js';
import { escapeHtml, formatBytes } from '../../core/text.js';
import {
  formatClock,
  formatDuration,
  headerViews,
  looksLikeUtf8Text,
  matchesFilter,
  previewBody,
  statusClass,
  toDetail,
  toRow,
  type LogFilter,
} from '../../extension/requestLog/format.js';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
function record(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 1,
    method: 'GET',
    path: '/',
    startedAt: T0,
    durationMs: 12.4,
    status: 200,
    upgrade: false,
    requestHeaders: ['Host', 'localhost:5173', 'Accept', '*/*'],
    localRequestHeaders: ['Host', 'localhost:5173', 'Accept', '*/*'],
    responseHeaders: ['Content-Type', 'text/plain'],
    visitorResponseHeaders: ['Content-Type', 'text/plain'],
    requestBytes: 0,
    responseBytes: 5,
    requestBody: Buffer.alloc(0),
    responseBody: Buffer.from('hello'),
    requestBodyTruncated: false,
    responseBodyTruncated: false,
    ...overrides,
  };
}
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

test('filter by text (method, path, status) and by status class', () => {
  const f = (text: string, status: LogFilter['status'] = 'all') => ({ text, status });
  const api = record({ method: 'POST', path: '/api/Users', status: 201 });
  assert.ok(matchesFilter(api, f('')));
  assert.ok(matchesFilter(api, f('users')));
  assert.ok(matchesFilter(api, f('post /api')));
  assert.ok(matchesFilter(api, f('201')));
  assert.not.ok(matchesFilter(api, f('orders')));
  assert.ok(matchesFilter(api, f('', '2xx')));
  assert.not.ok(matchesFilter(api, f('', '4xx')));
  assert.not.ok(matchesFilter(api, f('', 'failed')));
  const broken = record({ status: undefined, error: 'socket hang up' });
  assert.ok(matchesFilter(broken, f('', 'failed')));
  assert.ok(matchesFilter(broken, f('hang')));
  assert.not.ok(matchesFilter(broken, f('', '5xx')));
  assert.ok(matchesFilter(record({ status: 503 }), f('', '5xx')));
});

test('JSON bodies are pretty-printed; a truncated one is shown as captured', () => {
  const json = previewBody(Buffer.from('{"a":1,"b":[true,null]}'), ['content-type', 'application/json; charset=utf-8'], 23, false);
  assert.equal(json, { kind: 'text', text: '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}', note: '23 B' });
  const cut = previewBody(Buffer.from('{"a":[1,2,'), ['Content-Type', 'application/problem+json'], 5000, true);
  assert.is(cut.kind, 'text');
  assert.is((cut as { text: string }).text, '{"a":[1,2,');
  assert.ok((cut as { note: string }).note.includes('first 10 B of 4.9 KiB'));
});

test('binary bodies are shown as their size only', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  assert.equal(previewBody(png, ['content-type', 'image/png'], 123_456, true), { kind: 'binary', note: 'binary, 121 KiB (image/png)' });
  assert.equal(previewBody(png, [], 12, false).kind, 'binary', 'sniffed without a content type');
  assert.equal(previewBody(Buffer.alloc(0), [], 0, false), { kind: 'empty' });
});

test('compressed bodies are decompressed, even when the capture was cut', () => {
  const text = 'line of text\n'.repeat(2000);
  const gz = zlib.gzipSync(text);
  const full = previewBody(gz, ['content-type', 'text/plain', 'content-encoding', 'gzip'], gz.length, false);
  assert.is(full.kind, 'text');
  assert.is((full as { text: string }).text, text);
  const big = zlib.gzipSync(Buffer.from(Array.from({ length: 40_000 }, (_, i) => String.fromCharCode(32 + ((i * 7919) % 90))).join('')));
  const cut = previewBody(big.subarray(0, 4096), ['content-type', 'text/plain', 'content-encoding', 'gzip'], big.length, true);
  assert.is(cut.kind, 'text');
  assert.ok((cut as { text: string }).text.length > 3000);
  const br = zlib.brotliCompressSync('{"ok":true}');
  assert.equal(previewBody(br, ['content-type', 'application/json', 'content-encoding', 'br'], br.length, false), {
    kind: 'text',
    text: '{\n  "ok": true\n}',
    note: `${br.length} B, br-compressed`,
  });
  assert.is(previewBody(Buffer.from('not gzip'), ['content-encoding', 'gzip'], 8, false).kind, 'binary');
});

test('text sniffing tolerates a multi-byte character cut by the capture limit', () => {
  const euro = Buffer.from('price: 5 €');
  assert.ok(looksLikeUtf8Text(euro, false));
  assert.ok(looksLikeUtf8Text(euro.subarray(0, euro.length - 1), true));
  assert.not.ok(looksLikeUtf8Text(euro.subarray(0, euro.length - 1), false));
  assert.not.ok(looksLikeUtf8Text(Buffer.from([0x41, 0x00, 0x42]), false));
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
  );
  assert.equal(detail.requestHeaders, [
    { name: 'Content-Type', visitor: 'application/x-www-form-urlencoded', local: 'application/x-www-form-urlencoded' },
    { name: 'Set-Cookie', visitor: 'a=1', local: 'a=1' },
    { name: 'Set-Cookie', visitor: 'b=2', local: 'b=2' },
  ]);
  assert.equal(detail.requestBody, { kind: 'text', text: 'name=test', note: '9 B' });
  assert.equal(detail.responseBody, { kind: 'text', text: 'hello', note: '5 B' });
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
  assert.equal(detail.requestHeaders, [
    { name: 'Host', visitor: 'myapp.example.dev', local: 'localhost:5173' },
    { name: 'Origin', visitor: 'https://myapp.example.dev', local: 'http://localhost:5173' },
    { name: 'X-Forwarded-Host', visitor: 'myapp.example.dev', local: null },
    { name: 'Accept', visitor: 'a', local: 'a' },
    { name: 'Accept', visitor: 'b', local: 'b' },
  ]);
  assert.equal(detail.responseHeaders, [
    { name: 'Location', visitor: 'https://myapp.example.dev/landed', local: 'http://localhost:5173/landed' },
    { name: 'X-Extra', visitor: null, local: '1' },
  ]);
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
