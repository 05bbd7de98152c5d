import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { quote, toCurl } from '../../extension/requestLog/curl.js';
import { requestRecord as record } from '../helpers.js';

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

test.run();
