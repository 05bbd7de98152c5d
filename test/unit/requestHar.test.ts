import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Har, type HarSource, harJson } from '../../extension/requestLog/har.js';
import { harProblems, requestRecord as record } from '../helpers.js';

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

test.run();
