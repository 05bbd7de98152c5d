/** Host routing as a table: every spelling a client may send, and what it reaches. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { routeHost, type Route } from '../../relay/routing';

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

test.run();
