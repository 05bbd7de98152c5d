/** The HTTP/2 response head the relay builds from the local server's HTTP/1.1 fields. */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { http2ResponseHeaders } from '../../relay/http2';

test('names go lower-case; repeats are joined with commas, exact repeats dropped; Set-Cookie stays a list', () => {
  const headers = http2ResponseHeaders([
    'Content-Type',
    'text/html',
    'Set-Cookie',
    'a=1',
    'Vary',
    'Origin',
    'set-cookie',
    'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT',
    'VARY',
    'Accept-Encoding',
    'Content-Length',
    '10',
    'content-length',
    '10',
  ]);
  assert.equal(
    { ...headers },
    {
      'content-type': 'text/html',
      'set-cookie': ['a=1', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT'],
      vary: 'Origin, Accept-Encoding',
      'content-length': '10',
    },
  );
});

test('a field named like an Object property stays a plain field', () => {
  const headers = http2ResponseHeaders(['__proto__', 'x', 'constructor', 'y']);
  assert.equal(Object.entries(headers), [
    ['__proto__', 'x'],
    ['constructor', 'y'],
  ]);
  assert.is(Object.getPrototypeOf(headers), null);
});

test('whatever fields arrive, each name appears once, and Set-Cookie keeps every value (fast-check)', () => {
  const name = fc.constantFrom('set-cookie', 'Set-Cookie', 'vary', 'content-type', 'ETag', 'x-a');
  fc.assert(
    fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 8 })), { maxLength: 20 }), (pairs) => {
      const headers = http2ResponseHeaders(pairs.flat());
      const cookies = pairs.filter(([n]) => n.toLowerCase() === 'set-cookie').map(([, v]) => v);
      const keys = Object.keys(headers);
      return (
        new Set(keys).size === keys.length &&
        keys.every((k) => k === k.toLowerCase()) &&
        (cookies.length === 0 || JSON.stringify(headers['set-cookie']) === JSON.stringify(cookies))
      );
    }),
  );
});

test.run();
