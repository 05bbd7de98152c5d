import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { matchesFilter, NO_FILTER, readFilter, type LogFilter } from '../../extension/requestLog/filter.js';
import { requestRecord as record } from '../helpers.js';

const f = (overrides: Partial<LogFilter>): LogFilter => ({ ...NO_FILTER, ...overrides });

test('filter: search covers method, path, status, error, headers and decoded bodies', () => {
  const api = record({
    method: 'POST',
    path: '/api/Users',
    status: 201,
    requestHeaders: ['X-Signature', 'sha256=C0FFEE'],
    requestBytes: 20,
    requestBody: Buffer.from('{"event":"Invoice.Paid"}'),
    responseHeaders: ['Content-Encoding', 'gzip'],
    responseBody: zlib.gzipSync('{"ok":"Accepted"}'),
  });
  for (const text of ['', 'users', 'post /api', '201', 'c0ffee', 'x-signature', 'invoice.paid', 'accepted']) {
    assert.ok(matchesFilter(api, f({ text })), text);
  }
  assert.not.ok(matchesFilter(api, f({ text: 'orders' })));
  assert.ok(matchesFilter(record({ status: undefined, error: 'socket hang up' }), f({ text: 'HANG' })));
});

test('filter: status class, method and content type', () => {
  const api = record({
    method: 'POST',
    status: 201,
    responseHeaders: ['Content-Type', 'application/json'],
    responseBody: Buffer.from('{}'),
  });
  assert.ok(matchesFilter(api, f({ status: '2xx', method: 'POST', type: 'json' })));
  assert.not.ok(matchesFilter(api, f({ status: '4xx' })));
  assert.not.ok(matchesFilter(api, f({ status: 'failed' })));
  assert.not.ok(matchesFilter(api, f({ method: 'GET' })));
  assert.not.ok(matchesFilter(api, f({ type: 'html' })));
  assert.ok(matchesFilter(record({ method: 'PROPFIND' }), f({ method: 'other' })));
  assert.ok(matchesFilter(record({ status: undefined, error: 'x' }), f({ status: 'failed' })));
  assert.ok(matchesFilter(record({ responseBytes: 0, responseBody: Buffer.alloc(0) }), f({ type: 'none' })));
  const form = record({
    requestHeaders: ['content-type', 'application/x-www-form-urlencoded'],
    requestBytes: 3,
    requestBody: Buffer.from('a=b'),
  });
  assert.ok(matchesFilter(form, f({ type: 'form' })), 'the request body counts too');
});

test('filter: whatever the page sends becomes a valid filter', () => {
  assert.equal(readFilter(null), NO_FILTER);
  assert.equal(readFilter({ text: 'x'.repeat(900), status: '9xx', method: 'GET', type: 42 }), {
    text: 'x'.repeat(500),
    status: 'all',
    method: 'GET',
    type: 'all',
  });
});

test.run();
