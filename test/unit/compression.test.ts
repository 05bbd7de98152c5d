/** Which responses the agent compresses, and how their heads change (extension/agent/compression.ts). */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acceptEncodingOf, isCompressibleType, planResponse, preferredEncoding } from '../../extension/agent/compression';

test('Accept-Encoding: br first, then gzip; q=0 refuses; * stands for what is not named; garbage means none', () => {
  const table: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['', undefined],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip', 'gzip'],
    ['GZIP;Q=1.0', 'gzip'],
    ['x-gzip', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', undefined],
    ['*', 'br'],
    ['*;q=0', undefined],
    ['br;q=0, *', 'gzip'],
    ['identity', undefined],
    ['deflate', undefined],
    ['br;q=abc, gzip', 'gzip'],
    [',,;;,', undefined],
  ];
  for (const [header, expected] of table) assert.is(preferredEncoding(header), expected, String(header));
  assert.is(acceptEncodingOf(['Host', 'x', 'Accept-Encoding', 'gzip', 'accept-encoding', 'br']), 'gzip, br');
});

test('text-like types: text/*, JavaScript, JSON, XML, SVG, wasm, +json and +xml; not event streams, images, octets', () => {
  for (const type of [
    'text/html; charset=utf-8',
    'text/css',
    'TEXT/JAVASCRIPT',
    'application/javascript',
    'application/json',
    'application/ld+json',
    'application/manifest+json',
    'image/svg+xml',
    'application/wasm',
    'application/xml',
    'application/atom+xml',
  ])
    assert.ok(isCompressibleType(type), type);
  for (const type of ['text/event-stream', 'image/png', 'application/octet-stream', 'video/mp4', 'application/zip', '', 'font/woff2'])
    assert.not.ok(isCompressibleType(type), type);
});

test('the plan: compressed heads lose Content-Length, gain Vary and Content-Encoding, and weaken a strong ETag', () => {
  const plan = planResponse('GET', ['Accept-Encoding', 'br'], 200, [
    'Content-Type',
    'text/css',
    'Content-Length',
    '5000',
    'ETag',
    '"abc"',
    'Vary',
    'Origin',
  ]);
  assert.is(plan.encoding, 'br');
  assert.is(plan.length, 5000);
  assert.equal(plan.headers, ['Content-Type', 'text/css', 'ETag', 'W/"abc"', 'Vary', 'Origin, Accept-Encoding', 'Content-Encoding', 'br']);
  const varyStar = planResponse('GET', ['accept-encoding', 'gzip'], 200, ['content-type', 'text/css', 'vary', '*']);
  assert.equal(varyStar.headers, ['content-type', 'text/css', 'vary', '*', 'Content-Encoding', 'gzip']);
});

test('the plan leaves alone: HEAD, 1xx, 204, 206, 304, Content-Range, encoded bodies, no-transform, small or unparsable lengths', () => {
  const css = ['content-type', 'text/css'];
  assert.is(planResponse('HEAD', ['Accept-Encoding', 'br'], 200, css).encoding, undefined);
  for (const status of [101, 204, 206, 304])
    assert.is(planResponse('GET', ['Accept-Encoding', 'br'], status, css).encoding, undefined, String(status));
  const untouched: string[][] = [
    [...css, 'Content-Range', 'bytes 0-9/100'],
    [...css, 'Content-Encoding', 'gzip'],
    [...css, 'Cache-Control', 'max-age=60, No-Transform'],
    [...css, 'Content-Length', '1023'],
    [...css, 'Content-Length', 'twelve'],
  ];
  for (const headers of untouched) {
    const plan = planResponse('GET', ['Accept-Encoding', 'br'], 200, headers);
    assert.is(plan.encoding, undefined, headers.join(' '));
    assert.is(plan.headers, headers, 'the same array, unchanged');
  }
  assert.is(planResponse('GET', ['Accept-Encoding', 'br'], 200, [...css, 'Content-Encoding', 'identity']).encoding, 'br');
  assert.is(planResponse('GET', ['Accept-Encoding', 'br'], 200, [...css, 'Cache-Control', 'no-transformer']).encoding, 'br');
});

test('whatever the fields, a compressed plan has one Content-Encoding, no Content-Length, Vary on Accept-Encoding, a weak ETag (fast-check)', () => {
  const field = fc.oneof(
    fc.constantFrom(
      ['content-length', '5000'],
      ['ETag', '"e"'],
      ['etag', 'W/"w"'],
      ['Vary', 'Origin'],
      ['vary', 'accept-encoding, x'],
      ['Content-Encoding', 'identity'],
    ),
    fc.tuple(fc.constantFrom('ETag', 'Vary', 'X-Other', 'Cache-Control'), fc.string({ maxLength: 12 })),
  );
  let compressed = 0;
  fc.assert(
    fc.property(fc.array(field, { maxLength: 8 }), (pairs) => {
      const plan = planResponse('GET', ['Accept-Encoding', 'br'], 200, ['content-type', 'text/html', ...pairs.flat()]);
      if (!plan.encoding) return true;
      compressed++;
      const fields: string[][] = [];
      for (let i = 0; i < plan.headers.length; i += 2) fields.push([plan.headers[i].toLowerCase(), plan.headers[i + 1]]);
      const named = (n: string) => fields.filter(([f]) => f === n).map(([, v]) => v);
      return (
        named('content-encoding').length === 1 &&
        named('content-length').length === 0 &&
        named('vary').some((v) => /accept-encoding|\*/i.test(v)) &&
        named('etag').every((v) => v.startsWith('W/'))
      );
    }),
    { numRuns: 300 },
  );
  assert.ok(compressed > 200, `only ${compressed} of 300 generated heads were compressed`);
});

test.run();
