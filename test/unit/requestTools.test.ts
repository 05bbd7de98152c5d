import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compare, compareHeaders, diffText } from '../../extension/requestLog/compare.js';
import { quote, toCurl } from '../../extension/requestLog/curl.js';
import { matchesFilter, NO_FILTER, readFilter, type LogFilter } from '../../extension/requestLog/filter.js';
import { type Har, type HarSource, harJson } from '../../extension/requestLog/har.js';
import { replayRequest } from '../../extension/requestLog/replayEdits.js';
import { harProblems, requestRecord as record } from '../helpers.js';

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

test('cURL: method, path, headers and body as sent, nothing curl would add, relay headers left out', () => {
  const post = record({
    method: 'POST',
    path: '/hooks/stripe?x=1',
    requestHeaders: [
      'Host',
      'shop.example.dev',
      'Content-Type',
      'application/json',
      'X-Note',
      "it's",
      'X-Forwarded-For',
      '1.2.3.4',
      'Content-Length',
      '9',
    ],
    requestBytes: 9,
    requestBody: Buffer.from('{"a":"b"}'),
  });
  assert.is(
    toCurl(post, 'https://shop.example.dev/', { basicAuth: 'me:pw' }),
    [
      'curl',
      "  -H 'Content-Type: application/json'",
      `  -H 'X-Note: it'\\''s'`,
      "  -H 'User-Agent:'",
      "  -H 'Accept:'",
      "  --user 'me:pw'",
      `  --data-raw '{"a":"b"}'`,
      "  'https://shop.example.dev/hooks/stripe?x=1'",
    ].join(' \\\n'),
  );
  const del = toCurl(
    record({ method: 'DELETE', path: '/a/[1]', requestHeaders: ['User-Agent', 'ua', 'Accept', '*/*'] }),
    'http://x.localhost:8080',
  );
  assert.is(
    del,
    ['curl', "  -X 'DELETE'", '  --globoff', "  -H 'User-Agent: ua'", "  -H 'Accept: */*'", "  'http://x.localhost:8080/a/[1]'"].join(
      ' \\\n',
    ),
  );
  assert.match(toCurl(record({ method: 'HEAD' }), 'http://x'), /^curl \\\n {2}--head/);
});

test('cURL of a private share: the link key in the query; a GET follows the relay redirect with a cookie jar', () => {
  const link = 'https://shop.example.dev/?porthole_key=k3y';
  const get = toCurl(record({ path: '/a?b=1#top', requestHeaders: ['User-Agent', 'x', 'Accept', '*/*'] }), 'https://shop.example.dev', {
    privateLink: link,
  });
  assert.match(get, /--location \\\n {2}--cookie-jar \/dev\/null \\\n {2}'https:\/\/shop\.example\.dev\/a\?b=1&porthole_key=k3y#top'$/);
  const post = toCurl(
    record({ method: 'POST', path: '/hook', requestBytes: 1, requestBody: Buffer.from('x') }),
    'https://shop.example.dev',
    { privateLink: link },
  );
  assert.match(post, /'https:\/\/shop\.example\.dev\/hook\?porthole_key=k3y'$/);
  assert.not.match(post, /--location/);
});

test('cURL: a binary, compressed or cut body is read from a file, and a comment says so', () => {
  const binary = toCurl(record({ method: 'PUT', requestBytes: 3, requestBody: Buffer.from([0, 1, 2]) }), 'http://x');
  assert.match(binary, /^# The request body \(3 B\) is not plain text: save it as body\.bin next to where you run this\.\ncurl/);
  assert.match(binary, /--data-binary @body\.bin/);
  assert.match(binary, /-H 'Content-Type:'/, 'no form Content-Type invented by curl');
  const cut = toCurl(
    record({ method: 'POST', requestBytes: 2_000_000, requestBody: Buffer.from('abc'), requestBodyTruncated: true }),
    'http://x',
  );
  assert.match(cut, /was cut at 3 B when it was logged/);
  assert.match(cut, /-H 'Expect:'/);
});

test('property: quote() gives a word bash reads back as the same text', () => {
  const bash = spawnSync('bash', ['--version']);
  if (bash.status !== 0) throw new Error('bash is needed for this test');
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { minLength: 1, maxLength: 8 }), (texts) => {
      const safe = texts.map((t) => t.split('\u0000').join('')); // no shell word can hold NUL
      const script = `printf '%s\\0' ${safe.map(quote).join(' ')}`;
      const out = spawnSync('bash', ['-c', script], { encoding: 'utf8' }).stdout;
      return out === safe.map((t) => `${t}\0`).join('');
    }),
    { numRuns: 60 },
  );
});

const keepMore = { keepMore: '--capture-bytes' };
const toHar = (sources: HarSource[]): Har => JSON.parse([...harJson(sources, keepMore)].join(''));

test('HAR 1.2: valid against the schema, bodies as captured, decoded, cut ones marked', () => {
  const json = Buffer.from('{"ok":true}');
  const har = toHar([
    {
      baseUrl: 'https://shop.example.dev',
      record: record({
        method: 'POST',
        path: '/hook?a=1&b=%20x',
        requestHeaders: ['Content-Type', 'application/json', 'Cookie', 'sid=1; theme=dark'],
        requestBytes: 4,
        requestBody: Buffer.from('{"a'),
        requestBodyTruncated: true,
        responseHeaders: ['Content-Type', 'application/json', 'Content-Encoding', 'gzip', 'Set-Cookie', 'sid=2; Path=/; HttpOnly; Secure'],
        responseBytes: zlib.gzipSync(json).length,
        responseBody: zlib.gzipSync(json),
      }),
    },
    {
      baseUrl: 'http://localhost:5173',
      record: record({
        id: 2,
        replayOf: 1,
        responseHeaders: ['Content-Type', 'image/png'],
        responseBody: Buffer.from([0x89, 0x50]),
        responseBytes: 2,
      }),
    },
    {
      baseUrl: 'https://shop.example.dev',
      record: record({ id: 3, status: undefined, error: 'Nothing is listening', responseBytes: 0, responseBody: Buffer.alloc(0) }),
    },
    {
      baseUrl: 'https://shop.example.dev',
      record: record({
        id: 4,
        responseHeaders: ['Content-Type', 'application/json'],
        visitorResponseHeaders: ['Content-Type', 'application/json', 'Content-Encoding', 'br', 'Vary', 'Accept-Encoding'],
        responseBody: Buffer.from(json),
        responseBytes: json.length,
        compression: { encoding: 'br', bytes: 5 },
      }),
    },
  ]);
  assert.equal(harProblems(har), []);
  const [post, replay, failed, compressed] = har.log.entries;
  assert.is(post.request.url, 'https://shop.example.dev/hook?a=1&b=%20x');
  assert.equal(post.request.queryString, [
    { name: 'a', value: '1' },
    { name: 'b', value: ' x' },
  ]);
  assert.equal(post.request.cookies, [
    { name: 'sid', value: '1' },
    { name: 'theme', value: 'dark' },
  ]);
  assert.equal(post.request.postData, {
    mimeType: 'application/json',
    text: '{"a',
    comment: 'Porthole kept the first 3 B of this 4 B body (keep more with --capture-bytes).',
  });
  assert.equal(post.response.content.text, '{"ok":true}');
  assert.is(post.response.content.size, json.length);
  assert.is(post.response.content.compression, json.length - post.response.bodySize);
  assert.equal(post.response.cookies, [{ name: 'sid', value: '2', path: '/', httpOnly: true, secure: true }]);
  assert.equal(replay.response.content, { size: 2, mimeType: 'image/png', text: 'iVA=', encoding: 'base64' });
  assert.match(replay.comment ?? '', /replay of request 1/);
  assert.is(replay.request.url, 'http://localhost:5173/');
  assert.is(failed.response.status, 0);
  assert.is(failed.response._error, 'Nothing is listening');
  assert.is(compressed.response.bodySize, 5, 'the agent compressed it: 5 bytes crossed to the visitor');
  assert.is(compressed.response.content.compression, json.length - 5);
  assert.is(compressed.response.content.text, json.toString());
});

test('HAR of cut responses: size is the whole body, the captured part is the text, the comment says it was cut', () => {
  const page = Buffer.from('<p>hello</p>'.repeat(100));
  const gzipped = zlib.gzipSync(page);
  const har = toHar([
    {
      baseUrl: 'http://localhost:5173',
      record: record({
        responseHeaders: ['Content-Type', 'text/html'],
        responseBody: page.subarray(0, 100),
        responseBytes: page.length,
        responseBodyTruncated: true,
      }),
    },
    {
      baseUrl: 'http://localhost:5173',
      record: record({
        id: 2,
        responseHeaders: ['Content-Type', 'text/html', 'Content-Encoding', 'gzip'],
        responseBody: gzipped.subarray(0, 20),
        responseBytes: gzipped.length,
        responseBodyTruncated: true,
      }),
    },
  ]);
  assert.equal(harProblems(har), []);
  const [plain, encoded] = har.log.entries.map((entry) => entry.response);
  assert.is(plain.content.size, page.length, 'the whole body, not the 100 bytes kept');
  assert.is(plain.bodySize, page.length);
  assert.is(plain.content.text, page.subarray(0, 100).toString());
  assert.is(
    plain.content.comment,
    `Porthole kept the first 100 B of this ${(page.length / 1024).toFixed(1)} KiB body (keep more with --capture-bytes).`,
  );
  assert.is(plain.content.compression, undefined);
  assert.is(encoded.content.size, gzipped.length, 'decoded size unknown: the encoded size, and no compression claimed');
  assert.is(encoded.content.compression, undefined);
  assert.match(
    encoded.content.comment ?? '',
    /first 20 B of this \d+ B gzip-encoded body .*decoded size is unknown, so size is the encoded size/,
  );
});

test('HAR text comes one entry at a time and reads exactly as the whole document would', () => {
  const sources: HarSource[] = [1, 2, 3].map((id) => ({
    baseUrl: 'http://localhost:5173',
    record: record({ id, path: `/${id}`, responseBody: Buffer.from(`body "${id}"\n`), responseBytes: 9 }),
  }));
  for (const list of [[], sources.slice(0, 1), sources]) {
    const pieces = [...harJson(list, keepMore)];
    assert.is(pieces.length, list.length + 2, 'a head, one piece per entry, a tail');
    const text = pieces.join('');
    assert.is(text, JSON.stringify(JSON.parse(text), null, 2));
    assert.is(JSON.parse(text).log.entries.length, list.length);
  }
});

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
