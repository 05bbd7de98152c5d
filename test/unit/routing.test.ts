/** Host routing as a table: every spelling a client may send, and what it reaches. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostHeaders, requestTarget, routeHost, type Route, type Target } from '../../relay/routing';

const apex: Route = { kind: 'apex' };
const tunnel = (name: string): Route => ({ kind: 'tunnel', name });
const unknown = (host: string | undefined): Route => ({ kind: 'unknown', host: host ?? '' });

const TABLE: [string | undefined, string, Route][] = [
  ['example.dev', 'example.dev', apex],
  ['EXAMPLE.dev', 'example.dev', apex],
  ['example.dev.', 'example.dev', apex],
  ['example.dev:443', 'example.dev', apex],
  ['example.dev.:8443', 'example.dev', apex],
  ['myapp.example.dev', 'example.dev', tunnel('myapp')],
  ['MyApp.Example.DEV', 'example.dev', tunnel('myapp')],
  ['myapp.example.dev.', 'example.dev', tunnel('myapp')],
  ['myapp.example.dev:8080', 'example.dev', tunnel('myapp')],
  ['myapp.localhost:8080', 'localhost', tunnel('myapp')],
  ['a.myapp.example.dev', 'example.dev', unknown('a.myapp.example.dev')],
  ['.example.dev', 'example.dev', unknown('.example.dev')],
  ['myapp.example.dev.evil.com', 'example.dev', unknown('myapp.example.dev.evil.com')],
  ['myappexample.dev', 'example.dev', unknown('myappexample.dev')],
  ['other.dev', 'example.dev', unknown('other.dev')],
  ['127.0.0.1:8080', 'localhost', unknown('127.0.0.1:8080')],
  ['[::1]:8080', 'localhost', unknown('[::1]:8080')],
  ['', 'example.dev', unknown('')],
  [undefined, 'example.dev', unknown(undefined)],
];

for (const [host, domain, route] of TABLE) {
  test(`${JSON.stringify(host)} on ${domain} → ${JSON.stringify(route)}`, () => {
    assert.equal(routeHost(host, domain), route);
  });
}

const named = (host: string | undefined, path: string): Target => ({ ok: true, host, path });
const TARGETS: [string, string[], Target | RegExp][] = [
  ['/', ['myapp.example.dev'], named('myapp.example.dev', '/')],
  ['/a?b=c', ['myapp.example.dev'], named('myapp.example.dev', '/a?b=c')],
  ['//double', ['myapp.example.dev'], named('myapp.example.dev', '//double')],
  ['*', ['myapp.example.dev'], named('myapp.example.dev', '*')],
  ['/x', [], named(undefined, '/x')],
  // Absolute form, as proxies send it: the target names the host, and Host is not read.
  ['http://other.example.dev/a?b', ['myapp.example.dev'], named('other.example.dev', '/a?b')],
  ['HTTPS://other.example.dev:8443', ['myapp.example.dev'], named('other.example.dev:8443', '/')],
  ['http://other.example.dev?q', [], named('other.example.dev', '/?q')],
  ['http:///nohost', ['myapp.example.dev'], named('', '/nohost')],
  ['/x', ['myapp.example.dev', 'myapp.example.dev'], /more than one Host/],
  ['/x', ['a.example.dev', 'b.example.dev'], /more than one Host/],
  ['http://me@other.example.dev/', [], /path or an http\(s\) URL/],
  ['ftp://other.example.dev/', [], /path or an http\(s\) URL/],
  ['other.example.dev:443', [], /path or an http\(s\) URL/],
];

for (const [url, hosts, expected] of TARGETS) {
  test(`target ${JSON.stringify(url)} with Host ${JSON.stringify(hosts)}`, () => {
    const target = requestTarget(url, hosts);
    if (expected instanceof RegExp) assert.ok(!target.ok && expected.test(target.problem), JSON.stringify(target));
    else assert.equal(target, expected);
  });
}

test('every Host header is found, whatever its case', () => {
  assert.equal(hostHeaders(['Host', 'a', 'X-Host', 'b', 'HOST', 'c', 'hostname', 'd', 'host', '']), ['a', 'c', '']);
});

test.run();
