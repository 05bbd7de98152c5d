import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OriginMap } from '../../extension/agent/originMap.js';

const PUBLIC = 'https://myapp.example.dev';
const vite = new OriginMap(new URL('http://localhost:5173'), new URL(PUBLIC));
const location = (map: OriginMap, value: string) => map.responseValue('Location', value);
const origin = (map: OriginMap, value: string) => map.requestValue('Origin', value);

test('a Location on the local server points at the public origin, path, query and fragment kept', () => {
  assert.is(location(vite, 'http://localhost:5173/'), `${PUBLIC}/`);
  assert.is(location(vite, 'http://localhost:5173'), PUBLIC);
  assert.is(location(vite, 'http://localhost:5173/a/b?c=d&e=%20f#g'), `${PUBLIC}/a/b?c=d&e=%20f#g`);
  assert.is(location(vite, 'http://localhost:5173?next=/x'), `${PUBLIC}?next=/x`);
  assert.is(location(vite, 'http://localhost:5173#top'), `${PUBLIC}#top`);
  assert.is(
    location(vite, 'http://localhost:5173/login?next=http://localhost:5173/x'),
    `${PUBLIC}/login?next=http://localhost:5173/x`,
    'only the origin at the start changes',
  );
});

test('every spelling of this machine, in any case, maps', () => {
  for (const host of [
    'localhost',
    'LOCALHOST',
    'LocalHost.',
    '127.0.0.1',
    '127.1',
    '127.0.0.2',
    '0x7f.0.0.1',
    '[::1]',
    '[0:0:0:0:0:0:0:1]',
    '[::ffff:127.0.0.1]',
    '0.0.0.0',
    '[::]',
  ]) {
    assert.is(location(vite, `http://${host}:5173/x`), `${PUBLIC}/x`, host);
  }
  assert.is(location(vite, 'HTTP://LOCALHOST:5173/Path'), `${PUBLIC}/Path`, 'scheme and host case-insensitive, path case kept');
  assert.is(location(vite, 'http://localhost:05173/x'), `${PUBLIC}/x`, 'a port with leading zeros is the same port');
});

test('a target given as 127.0.0.1 or [::1] still maps localhost, and the reverse', () => {
  const byIp = new OriginMap(new URL('http://127.0.0.1:3000'), new URL(PUBLIC));
  assert.is(location(byIp, 'http://localhost:3000/'), `${PUBLIC}/`);
  const byV6 = new OriginMap(new URL('http://[::1]:3000'), new URL(PUBLIC));
  assert.is(location(byV6, 'http://127.0.0.1:3000/'), `${PUBLIC}/`);
  assert.is(location(byV6, 'http://[::1]:3000/a'), `${PUBLIC}/a`);
});

test('a target elsewhere on the network maps only its own host name', () => {
  const lan = new OriginMap(new URL('http://devbox.lan:8000'), new URL(PUBLIC));
  assert.is(location(lan, 'http://DEVBOX.lan:8000/a'), `${PUBLIC}/a`);
  assert.is(location(lan, 'http://localhost:8000/a'), 'http://localhost:8000/a', 'localhost is the agent machine, not devbox.lan');
});

test("the port must be the local server's; default ports count as written or implied", () => {
  assert.is(location(vite, 'http://localhost:5174/x'), 'http://localhost:5174/x');
  assert.is(location(vite, 'http://localhost/x'), 'http://localhost/x');
  const onDefault = new OriginMap(new URL('http://localhost:80'), new URL(PUBLIC));
  assert.is(location(onDefault, 'http://localhost/x'), `${PUBLIC}/x`);
  assert.is(location(onDefault, 'http://localhost:80/x'), `${PUBLIC}/x`);
  assert.is(location(onDefault, 'https://localhost/x'), 'https://localhost/x', 'https without a port is 443, another server');
  const tls = new OriginMap(new URL('https://localhost'), new URL(PUBLIC));
  assert.is(location(tls, 'https://localhost:443/x'), `${PUBLIC}/x`);
  assert.is(location(tls, 'http://localhost/x'), 'http://localhost/x');
});

test('https on the local port is the same server (it hears X-Forwarded-Proto: https)', () => {
  assert.is(location(vite, 'https://localhost:5173/landed'), `${PUBLIC}/landed`);
  assert.is(location(vite, 'ftp://localhost:5173/x'), 'ftp://localhost:5173/x');
  assert.is(location(vite, 'ws://localhost:5173/x'), 'ws://localhost:5173/x');
});

test('relative references, other origins and junk stay as they are', () => {
  for (const value of [
    '/',
    '/landed?x=1',
    'landed',
    '../up',
    '?q',
    '#frag',
    '',
    ' ',
    'https://github.com/login?redirect_uri=http://localhost:5173/cb',
    'http://localhost.evil.com:5173/',
    'http://evil.com:5173@',
    'http://127.0.0.1.nip.io:5173/',
    'http://[::2]:5173/',
    'http://localhost:5173x/',
    'http://localhost:99999999999999999999/',
    'http://:5173/',
    'http://[::1/',
    'http://[::1]x/',
    'javascript:alert(1)',
    'mailto:a@localhost',
    'http:/localhost:5173/',
  ]) {
    assert.is(location(vite, value), value, JSON.stringify(value));
  }
});

test('userinfo is kept, and is never mistaken for the host', () => {
  assert.is(location(vite, 'http://user:pw@localhost:5173/x'), 'https://user:pw@myapp.example.dev/x');
  assert.is(location(vite, 'http://localhost:5173@evil.com/x'), 'http://localhost:5173@evil.com/x');
  assert.is(location(vite, 'http://a@b@localhost:5173/'), 'https://a@b@myapp.example.dev/');
});

test('scheme-relative references on the local server map too', () => {
  assert.is(location(vite, '//localhost:5173/x'), `${PUBLIC}/x`);
  assert.is(location(vite, '//localhost/x'), '//localhost/x');
  assert.is(location(vite, '//example.com/x'), '//example.com/x');
});

test('a backslash ends the host, as browsers read it', () => {
  assert.is(location(vite, 'http://localhost:5173\\x'), `${PUBLIC}\\x`);
  assert.is(location(vite, 'http://evil.com\\@localhost:5173/'), 'http://evil.com\\@localhost:5173/');
});

test('Content-Location, Access-Control-Allow-Origin and every Refresh spelling map; other response headers do not', () => {
  const r = (name: string, value: string) => vite.responseValue(name, value);
  assert.is(r('content-location', 'http://localhost:5173/doc.json'), `${PUBLIC}/doc.json`);
  assert.is(r('Access-Control-Allow-Origin', 'http://localhost:5173'), PUBLIC);
  assert.is(r('Access-Control-Allow-Origin', '*'), '*');
  assert.is(r('Refresh', '0; url=http://localhost:5173/next'), `0; url=${PUBLIC}/next`);
  assert.is(r('refresh', "5;URL='http://127.0.0.1:5173/next'"), `5;URL='${PUBLIC}/next'`);
  assert.is(r('Refresh', '3, url = "http://localhost:5173"'), `3, url = "${PUBLIC}"`);
  assert.is(r('Refresh', '1.5 http://localhost:5173/x'), `1.5 ${PUBLIC}/x`);
  assert.is(r('Refresh', '0; url=/relative'), '0; url=/relative');
  assert.is(r('Refresh', '5'), '5');
  assert.is(r('Refresh', 'soon'), 'soon');
  assert.is(r('Link', '<http://localhost:5173/a.css>; rel=preload'), '<http://localhost:5173/a.css>; rel=preload');
  assert.is(r('Set-Cookie', 'a=http://localhost:5173/'), 'a=http://localhost:5173/');
});

test('an Origin or Referer on the public origin names the local origin instead', () => {
  assert.is(origin(vite, PUBLIC), 'http://localhost:5173');
  assert.is(vite.requestValue('referer', `${PUBLIC}/form?x=1#y`), 'http://localhost:5173/form?x=1#y');
  assert.is(vite.requestValue('Referer', `${PUBLIC}/`), 'http://localhost:5173/');
  assert.is(origin(vite, 'HTTPS://MyApp.Example.Dev:443'), 'http://localhost:5173', 'any spelling of the public origin');
  assert.is(origin(vite, 'https://myapp.example.dev.'), 'http://localhost:5173');
});

test('a cross-site Origin or Referer is never touched', () => {
  for (const value of [
    'https://evil.dev',
    'http://myapp.example.dev',
    'https://myapp.example.dev:8443',
    'https://myapp.example.dev.evil.dev',
    'https://other.example.dev',
    'https://example.dev',
    'null',
    '',
    'https://myapp.example.devx',
    'https://u@myapp.example.dev',
    'http://localhost:5173',
  ]) {
    assert.is(origin(vite, value), value, JSON.stringify(value));
    assert.is(vite.requestValue('Referer', `${value}/p`), `${value}/p`, JSON.stringify(value));
  }
  assert.is(vite.requestValue('X-Origin', PUBLIC), PUBLIC, 'only Origin and Referer');
  assert.is(vite.requestValue('Host', 'myapp.example.dev'), 'myapp.example.dev');
});

test('a public origin with a port of its own must match that port', () => {
  const dev = new OriginMap(new URL('http://localhost:3000'), new URL('https://next.porthole.test:8443'));
  assert.is(origin(dev, 'https://next.porthole.test:8443'), 'http://localhost:3000');
  assert.is(origin(dev, 'https://next.porthole.test'), 'https://next.porthole.test');
  assert.is(location(dev, 'http://localhost:3000/landed'), 'https://next.porthole.test:8443/landed');
});

test('whole header lists: the same array back when nothing maps, a copy with only the mapped values otherwise', () => {
  const untouched = ['Content-Type', 'text/html', 'Location', '/relative', 'Cache-Control', 'no-store'];
  assert.ok(vite.response(untouched) === untouched);
  const plain = ['Host', 'myapp.example.dev', 'Origin', 'https://evil.dev', 'Referer', 'https://evil.dev/'];
  assert.ok(vite.request(plain) === plain);
  const redirect = ['Location', 'http://localhost:5173/landed', 'Set-Cookie', 'sid=1'];
  const mapped = vite.response(redirect);
  assert.equal(mapped, ['Location', `${PUBLIC}/landed`, 'Set-Cookie', 'sid=1']);
  assert.equal(redirect, ['Location', 'http://localhost:5173/landed', 'Set-Cookie', 'sid=1'], 'the input is left as it was');
  assert.equal(vite.request(['origin', PUBLIC, 'referer', `${PUBLIC}/f`]), [
    'origin',
    'http://localhost:5173',
    'referer',
    'http://localhost:5173/f',
  ]);
});

const pathAndQuery = fc.stringMatching(/^(\/[\w\-.~%!$&'()*+,;=:@/?#]*)?$/);

test('property: any path and query round-trips through both directions', () => {
  fc.assert(
    fc.property(pathAndQuery, (rest) => {
      assert.is(location(vite, `http://localhost:5173${rest}`), `${PUBLIC}${rest}`);
      assert.is(vite.requestValue('referer', `${PUBLIC}${rest}`), `http://localhost:5173${rest}`);
    }),
  );
});

test('property: headers other than the mapped few come back as the same array', () => {
  const name = fc
    .string({ minLength: 1, maxLength: 20 })
    .filter((n) => !/^(origin|referer|location|content-location|refresh|access-control-allow-origin)$/i.test(n));
  fc.assert(
    fc.property(fc.array(fc.tuple(name, fc.string({ unit: 'binary' }))), (pairs) => {
      const raw = pairs.flat();
      assert.ok(vite.request(raw) === raw);
      assert.ok(vite.response(raw) === raw);
    }),
  );
});

test('property: any text as a mapped header never throws, and an origin that is not the public one stays', () => {
  const names = fc.constantFrom('Origin', 'referer', 'Location', 'content-location', 'Refresh', 'access-control-allow-origin');
  const text = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc
      .tuple(fc.constantFrom('http://', 'https://', '//', 'HTTP://[', 'http://localhost:'), fc.string({ unit: 'binary' }))
      .map(([a, b]) => a + b),
  );
  fc.assert(
    fc.property(names, text, (name, value) => {
      const response = vite.responseValue(name, value);
      const request = vite.requestValue(name, value);
      assert.type(response, 'string');
      if (!value.toLowerCase().includes('myapp.example.dev')) assert.is(request, value);
    }),
  );
});

test.run();
