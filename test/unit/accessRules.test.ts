/** The pieces of a share's access policy as tables: IP ranges, open-path globs, the policy as a whole. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cidrContains, parseCidr, type Cidr } from '../../core/cidr';
import { globMatches, isOpenPath, parsePathGlob, plainPath, type PathGlob } from '../../core/pathGlob';
import { parsePolicy, privateLink } from '../../core/access';

const range = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
};
const glob = (text: string): PathGlob => {
  const parsed = parsePathGlob(text);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed;
};

const RANGES: [string, string, boolean][] = [
  ['10.0.0.0/8', '10.1.2.3', true],
  ['10.0.0.0/8', '11.0.0.1', false],
  ['10.0.0.0/8', '::ffff:10.9.9.9', true],
  ['10.0.0.0/8', '::ffff:a09:909', true],
  ['10.0.0.0/8', '::1', false],
  ['127.0.0.0/8', '127.0.0.1', true],
  ['127.0.0.1', '127.0.0.1', true],
  ['127.0.0.1', '127.0.0.2', false],
  ['192.168.1.0/24', '192.168.1.255', true],
  ['192.168.1.0/24', '192.168.2.0', false],
  ['192.168.1.128/25', '192.168.1.127', false],
  ['192.168.1.128/25', '192.168.1.200', true],
  ['0.0.0.0/0', '203.0.113.9', true],
  ['0.0.0.0/0', '2001:db8::1', false],
  ['::/0', '2001:db8::1', true],
  ['::/0', '203.0.113.9', false],
  ['::/0', '::ffff:203.0.113.9', false],
  ['::1/128', '::1', true],
  ['::1', '::1', true],
  ['::1/128', '::2', false],
  ['2001:db8::/32', '2001:db8:ffff::1', true],
  ['2001:db8::/32', '2001:db9::1', false],
  ['2001:DB8::/32', '2001:db8::abcd', true],
  ['fe80::/10', 'fe80::1%eth0', true],
  ['::ffff:10.0.0.0/104', '10.200.0.1', true],
  ['::ffff:10.0.0.0/104', '::ffff:10.200.0.1', true],
  ['::ffff:10.0.0.0/104', '11.0.0.1', false],
  ['::ffff:0:0/96', '198.51.100.1', true],
  ['2001:db8::/32', 'not an address', false],
  ['10.0.0.0/8', '', false],
];

test('an IP range contains exactly its addresses, IPv4-mapped IPv6 counting as IPv4', () => {
  for (const [cidr, address, inside] of RANGES) assert.is(cidrContains(range(cidr), address), inside, `${cidr} ∋ ${address}`);
});

const BAD_RANGES: [string, RegExp][] = [
  ['10.0.0.0/99', /10\.0\.0\.0\/99.*invalid prefix length.*\/0 to \/32/],
  ['2001:db8::/129', /\/0 to \/128/],
  ['10.0.0.0/', /invalid prefix length/],
  ['10.0.0.0/8/8', /invalid prefix length/],
  ['10.0.0.0/-1', /invalid prefix length/],
  ['10.0.0.0/ 8', /invalid prefix length/],
  ['10.1.0.0/8', /did you mean 10\.0\.0\.0\/8/],
  ['2001:db8::1/32', /did you mean 2001:db8:0:0:0:0:0:0\/32/],
  ['256.0.0.0/8', /not an IP range/],
  ['10.0.0/8', /not an IP range/],
  ['localhost', /not an IP range/],
  ['', /not an IP range/],
  ['fe80::1%eth0/64', /not an IP range/],
  ['::ffff:10.0.0.0/8', /did you mean/],
];

test('a malformed range is refused with a sentence naming it', () => {
  for (const [text, pattern] of BAD_RANGES) {
    const parsed = parseCidr(text);
    assert.ok('error' in parsed, `${text} refused`);
    if ('error' in parsed) assert.match(parsed.error, pattern, text);
  }
});

const GLOBS: [string, string, boolean][] = [
  ['/webhooks/*', '/webhooks/stripe', true],
  ['/webhooks/*', '/webhooks/stripe?x=1', true],
  ['/webhooks/*', '/webhooks/', true],
  ['/webhooks/*', '/webhooks', false],
  ['/webhooks/*', '/webhooks/a/b', false],
  ['/webhooks/*', '/Webhooks/stripe', false],
  ['/webhooks/*', '/webhooksx/stripe', false],
  ['/webhooks/**', '/webhooks', true],
  ['/webhooks/**', '/webhooks/', true],
  ['/webhooks/**', '/webhooks/a/b/c', true],
  ['/webhooks/**', '/webhooksx', false],
  ['/api/**/hook', '/api/hook', true],
  ['/api/**/hook', '/api/v1/x/hook', true],
  ['/api/**/hook', '/api/v1/x/hooks', false],
  ['/hooks/*.json', '/hooks/a.json', true],
  ['/hooks/*.json', '/hooks/.json', true],
  ['/hooks/*.json', '/hooks/a.jsonx', false],
  ['/a*b*c', '/abc', true],
  ['/a*b*c', '/aXbYbZc', true],
  ['/a*b*c', '/aXbYbZ', false],
  ['/sha', '/sha', true],
  ['/sha', '/sha/', false],
  ['/sha', '/shad', false],
  ['/**', '/', true],
  ['/**', '/anything/at/all', true],
  ['/', '/', true],
  ['/', '/x', false],
  // Decoded before matching, and matched as sent too: both readings must be open.
  ['/webhooks/*', '/webhooks/%73tripe', true],
  ['/webhooks/stripe', '/webhooks/%73tripe', false],
  ['/webhooks/*', '/%77ebhooks/stripe', false],
  // Ambiguous paths are never open.
  ['/webhooks/**', '/webhooks/../admin', false],
  ['/webhooks/**', '/webhooks/%2e%2e/admin', false],
  ['/webhooks/**', '/webhooks/.%2E/admin', false],
  ['/webhooks/**', '/webhooks/./x', false],
  ['/webhooks/**', '/webhooks/%252e%252e/admin', false],
  ['/webhooks/**', '/webhooks/a%2fb', false],
  ['/webhooks/**', '/webhooks/a%5cb', false],
  ['/webhooks/**', '/webhooks/a\\..\\admin', false],
  ['/webhooks/**', '/webhooks//admin', false],
  ['/webhooks/**', '/webhooks/..;/admin', false],
  ['/webhooks/**', '/webhooks/x;y', false],
  ['/webhooks/**', '/webhooks/%00', false],
  ['/webhooks/**', '/webhooks/admin.', false],
  ['/webhooks/**', '/webhooks/admin%2e', false],
  ['/webhooks/**', '/webhooks/v1.2', true],
  ['/webhooks/**', '/webhooks/a%20b', false],
  ['/webhooks/**', '/webhooks/%c3%a9', false],
  ['/webhooks/**', '/webhooks/é', false],
  ['/webhooks/**', '/webhooks/%zz', false],
  ['/webhooks/**', '/webhooks/%', false],
  ['/webhooks/**', '/webhooks/x#frag', false],
  ['/webhooks/**', 'http://evil/webhooks/x', false],
  ['/**', '*', false],
  ['/**', '', false],
];

test('open paths: which request targets each glob opens', () => {
  for (const [pattern, target, open] of GLOBS) assert.is(isOpenPath([glob(pattern)], target), open, `${pattern} opens ${target}`);
});

test('several open paths: any one of them opens a path', () => {
  const globs = [glob('/webhooks/*'), glob('/health')];
  assert.ok(isOpenPath(globs, '/health'));
  assert.ok(isOpenPath(globs, '/webhooks/github'));
  assert.not.ok(isOpenPath(globs, '/admin'));
  assert.not.ok(isOpenPath([], '/health'));
});

test('a path is split, decoded and kept as sent', () => {
  assert.equal(plainPath('/a/%62/c?q=%2e%2e'), { raw: ['a', '%62', 'c'], decoded: ['a', 'b', 'c'] });
  assert.equal(plainPath('/'), { raw: [''], decoded: [''] });
  assert.is(plainPath('/a/../b'), undefined);
  assert.ok(globMatches(glob('/a/*'), ['a', 'b']));
});

const BAD_GLOBS: [string, RegExp][] = [
  ['webhooks/*', /must start with "\/"/],
  ['/hooks?x=1', /never the query/],
  ['/hooks#x', /never the query/],
  ['/hooks/%2e', /decoded, in ASCII/],
  ['/hooks/a b', /decoded, in ASCII/],
  ['/hooks/é', /decoded, in ASCII/],
  ['/hooks\\x', /decoded, in ASCII/],
  ['/hooks;x', /decoded, in ASCII/],
  ['/hooks//x', /empty segment/],
  ['/hooks/../admin', /"\." or "\.\." segment/],
  ['/hooks/./x', /"\." or "\.\." segment/],
  ['/hooks/a**', /whole segments/],
  ['/hooks/*.', /ending in "\."/],
  [`/${'a'.repeat(300)}`, /longer than 256/],
];

test('a malformed glob is refused with a sentence naming it', () => {
  for (const [text, pattern] of BAD_GLOBS) {
    const parsed = parsePathGlob(text);
    assert.ok('error' in parsed, `${text} refused`);
    if ('error' in parsed) assert.match(parsed.error, pattern, text);
  }
});

test('a policy is checked as a whole, naming the flag and the value that is wrong', () => {
  assert.ok(!('error' in parsePolicy({})));
  assert.ok(!('error' in parsePolicy({ linkKey: 'k'.repeat(32), allowIps: ['10.0.0.0/8', '::1'], openPaths: ['/hooks/*'] })));
  const problem = (policy: Parameters<typeof parsePolicy>[0]) => {
    const parsed = parsePolicy(policy);
    return 'error' in parsed ? parsed.error : '';
  };
  assert.match(problem({ allowIps: ['10.0.0.0/99'] }), /^--allow-ip "10\.0\.0\.0\/99"/);
  assert.match(problem({ openPaths: ['hooks'] }), /^--public-path: Open path "hooks" must start/);
  assert.match(problem({ linkKey: 'short' }), /16 to 128 URL-safe/);
  assert.match(problem({ linkKey: `${'k'.repeat(20)}&x=1` }), /URL-safe/);
  assert.match(problem({ allowIps: new Array(65).fill('10.0.0.0/8') }), /at most 64/);
  assert.match(problem({ openPaths: new Array(33).fill('/x') }), /at most 32/);
  assert.match(problem({ linkKey: 'k'.repeat(32), geoFence: ['EU'] } as never), /does not know the access rule geoFence.*update the relay/);
});

test('the private link is the public URL with the key in its query', () => {
  assert.is(
    privateLink('http://myapp.localhost:8080', 'abcDEF-_0123456789'),
    'http://myapp.localhost:8080/?porthole_key=abcDEF-_0123456789',
  );
  assert.is(privateLink('https://myapp.example.dev', 'k'.repeat(16)), `https://myapp.example.dev/?porthole_key=${'k'.repeat(16)}`);
});

test.run();
