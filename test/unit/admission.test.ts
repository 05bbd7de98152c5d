/** A tunnel's access rules applied to visitors, as a table: every preset, their combinations, and what goes on to the local server. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accessRules, summarize, type AccessRules } from '../../relay/access';
import { decideAccess, linkCookieName, takeLinkKeys, type AccessDecision, type Visitor } from '../../relay/admission';
import { linkCookieValue } from '../../relay/secrets';
import type { AccessPolicy } from '../../core/protocol';

const KEY = 'Lk_0123456789abcdefghij';
const COOKIE = `porthole-link=${linkCookieValue(KEY)}`;
const BASIC = `Basic ${Buffer.from('demo:s3cret').toString('base64')}`;

function rules(basicAuth?: string, access?: AccessPolicy): AccessRules {
  const made = accessRules({ protocol: 2, agent: 'test', basicAuth, access });
  if (!made || 'error' in made) throw new Error(`no rules: ${JSON.stringify(made)}`);
  return made;
}
const visitor = (over: Partial<Visitor> = {}): Visitor => ({
  method: 'GET',
  target: '/',
  remote: '127.0.0.1',
  proto: 'http',
  host: 'app.localhost:8080',
  upgrade: false,
  ...over,
});
/** A decision in one word: the status of the page, or "ok". */
const outcome = (d: AccessDecision) => (d.ok ? 'ok' : d.page.status);

const PASSWORD = rules('demo:s3cret');
const PRIVATE = rules(undefined, { linkKey: KEY });
const ALLOW = rules(undefined, { allowIps: ['10.0.0.0/8', '::1'] });
const PRIVATE_HOOKS = rules(undefined, { linkKey: KEY, openPaths: ['/webhooks/*'] });
const EVERYTHING = rules('demo:s3cret', { linkKey: KEY, allowIps: ['127.0.0.0/8'], openPaths: ['/webhooks/**'] });

const TABLE: [string, AccessRules, Partial<Visitor>, 'ok' | number][] = [
  ['password: none given', PASSWORD, {}, 401],
  ['password: wrong', PASSWORD, { authorization: `Basic ${Buffer.from('demo:nope').toString('base64')}` }, 401],
  ['password: not Basic', PASSWORD, { authorization: 'Bearer demo:s3cret' }, 401],
  ['password: right', PASSWORD, { authorization: BASIC }, 'ok'],
  ['private: nothing', PRIVATE, {}, 403],
  ['private: a wrong key', PRIVATE, { target: '/?porthole_key=wrong-key-wrong-key' }, 403],
  ['private: the key, once right once wrong', PRIVATE, { target: `/?porthole_key=${KEY}&porthole_key=nope` }, 403],
  ['private: the link (GET)', PRIVATE, { target: `/?porthole_key=${KEY}` }, 303],
  ['private: the link (HEAD)', PRIVATE, { method: 'HEAD', target: `/x?porthole_key=${KEY}` }, 303],
  ['private: the key on a POST', PRIVATE, { method: 'POST', target: `/api?porthole_key=${KEY}` }, 'ok'],
  ['private: the key on an upgrade', PRIVATE, { upgrade: true, target: `/ws?porthole_key=${KEY}` }, 'ok'],
  ['private: an encoded key name', PRIVATE, { method: 'POST', target: `/?porthole%5Fkey=${KEY}` }, 'ok'],
  ['private: the cookie', PRIVATE, { cookie: COOKIE }, 'ok'],
  ['private: the cookie among others', PRIVATE, { cookie: `a=1; ${COOKIE}; b=2` }, 'ok'],
  ['private: a planted cookie beside the right one', PRIVATE, { cookie: `porthole-link=forged; ${COOKIE}` }, 'ok'],
  ['private: a forged cookie', PRIVATE, { cookie: 'porthole-link=forged' }, 403],
  ['private: the key as the cookie', PRIVATE, { cookie: `porthole-link=${KEY}` }, 403],
  ['private: the http cookie over https', PRIVATE, { proto: 'https', cookie: COOKIE }, 403],
  ['private: the https cookie over https', PRIVATE, { proto: 'https', cookie: `__Host-porthole-link=${linkCookieValue(KEY)}` }, 'ok'],
  ['private: the cookie on an upgrade', PRIVATE, { upgrade: true, cookie: COOKIE }, 'ok'],
  ['private: nothing on an upgrade', PRIVATE, { upgrade: true }, 403],
  ['allow-list: inside (v4)', ALLOW, { remote: '10.2.3.4' }, 'ok'],
  ['allow-list: inside (mapped v4)', ALLOW, { remote: '::ffff:10.2.3.4' }, 'ok'],
  ['allow-list: inside (v6)', ALLOW, { remote: '::1' }, 'ok'],
  ['allow-list: outside', ALLOW, { remote: '127.0.0.1' }, 403],
  ['allow-list: no address', ALLOW, { remote: '' }, 403],
  ['allow-list: outside, upgrade', ALLOW, { remote: '192.0.2.1', upgrade: true }, 403],
  ['open path on a private share', PRIVATE_HOOKS, { method: 'POST', target: '/webhooks/stripe' }, 'ok'],
  ['open path with a query', PRIVATE_HOOKS, { method: 'POST', target: '/webhooks/stripe?id=1' }, 'ok'],
  ['not an open path', PRIVATE_HOOKS, { target: '/webhooks/a/b' }, 403],
  ['traversal out of an open path', PRIVATE_HOOKS, { target: '/webhooks/../admin' }, 403],
  ['encoded traversal out of an open path', PRIVATE_HOOKS, { target: '/webhooks/%2e%2e/admin' }, 403],
  ['all rules: open path from anywhere', EVERYTHING, { remote: '203.0.113.5', target: '/webhooks/a/b' }, 'ok'],
  ['all rules: outside the list, with link and password', EVERYTHING, { remote: '203.0.113.5', cookie: COOKIE, authorization: BASIC }, 403],
  ['all rules: inside, no link', EVERYTHING, { authorization: BASIC }, 403],
  ['all rules: inside, link, no password', EVERYTHING, { cookie: COOKIE }, 401],
  ['all rules: inside, the link itself, no password yet', EVERYTHING, { target: `/?porthole_key=${KEY}` }, 303],
  ['all rules: inside, link, password', EVERYTHING, { cookie: COOKIE, authorization: BASIC }, 'ok'],
];

test('each preset and their combinations admit, redirect or refuse', () => {
  for (const [label, r, over, expected] of TABLE) assert.is(outcome(decideAccess(r, visitor(over))), expected, label);
});

test('the pages name the rule, never the allow-list or a secret', () => {
  const outside = decideAccess(ALLOW, visitor({ remote: '192.0.2.44' }));
  assert.ok(!outside.ok);
  if (!outside.ok) {
    assert.match(outside.page.message, /IP allow-list/);
    assert.match(outside.page.message, /192\.0\.2\.44/, 'the visitor sees their own address');
    assert.not.match(JSON.stringify(outside.page), /10\.0\.0\.0|::1/);
  }
  const locked = decideAccess(PASSWORD, visitor());
  assert.ok(!locked.ok && locked.page.headers?.['www-authenticate'] === 'Basic realm="app", charset="UTF-8"');
  const priv = decideAccess(PRIVATE, visitor());
  assert.ok(!priv.ok && /private/i.test(priv.page.message) && !priv.page.headers);
});

test('the link redirects to the clean URL and sets a host-only HttpOnly SameSite=Lax cookie, Secure over HTTPS', () => {
  const http = decideAccess(PRIVATE, visitor({ target: `/page?a=1&porthole_key=${KEY}&b=%20` }));
  assert.ok(!http.ok);
  if (http.ok) return;
  assert.is(http.page.headers?.location, 'http://app.localhost:8080/page?a=1&b=%20');
  const cookie = http.page.headers?.['set-cookie'] ?? '';
  assert.match(cookie, /^porthole-link=[\w-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
  assert.not.match(cookie, /Domain/i);
  assert.not.ok(cookie.includes(KEY), 'the cookie is not the key');
  const https = decideAccess(PRIVATE, visitor({ proto: 'https', host: 'app.example.dev', target: `/?porthole_key=${KEY}` }));
  assert.ok(!https.ok && https.page.headers?.location === 'https://app.example.dev/');
  assert.ok(!https.ok && /^__Host-porthole-link=.*; HttpOnly; SameSite=Lax; Secure$/.test(https.page.headers?.['set-cookie'] ?? ''));
  const slashes = decideAccess(PRIVATE, visitor({ target: `//evil.example/?porthole_key=${KEY}` }));
  assert.ok(
    !slashes.ok && slashes.page.headers?.location === 'http://app.localhost:8080//evil.example/',
    'never a protocol-relative redirect',
  );
});

test('what goes on: the key out of the target, the cookie and the password out of the headers', () => {
  const post = decideAccess(PRIVATE, visitor({ method: 'POST', target: `/api?porthole_key=${KEY}&x=1`, cookie: COOKIE }));
  assert.equal(post, { ok: true, forward: { stripAuthorization: false, target: '/api?x=1', dropCookie: 'porthole-link' } });
  const both = decideAccess(EVERYTHING, visitor({ cookie: COOKIE, authorization: BASIC }));
  assert.equal(both, { ok: true, forward: { stripAuthorization: true, dropCookie: 'porthole-link' } });
  const hook = decideAccess(EVERYTHING, visitor({ target: `/webhooks/x?porthole_key=${KEY}`, authorization: 'Bearer app-token' }));
  assert.equal(
    hook,
    { ok: true, forward: { stripAuthorization: false, target: '/webhooks/x' } },
    'an open path keeps its own Authorization',
  );
  assert.equal(decideAccess(PASSWORD, visitor({ authorization: BASIC, cookie: COOKIE })), {
    ok: true,
    forward: { stripAuthorization: true },
  });
});

test('the link key is found and taken out exactly as sent', () => {
  assert.equal(takeLinkKeys('/a?b=1'), { keys: [], target: '/a?b=1' });
  assert.equal(takeLinkKeys('/a'), { keys: [], target: '/a' });
  assert.equal(takeLinkKeys('/a?porthole_key=k'), { keys: ['k'], target: '/a' });
  assert.equal(takeLinkKeys('/a?x=%41+b&porthole_key=k&y'), { keys: ['k'], target: '/a?x=%41+b&y' });
  assert.equal(takeLinkKeys('/a?porthole_key'), { keys: [''], target: '/a' });
  assert.equal(takeLinkKeys('/a?porthole_key=%E0%A4%A'), { keys: [''], target: '/a' });
  assert.equal(takeLinkKeys('/a?%E0=1'), { keys: [], target: '/a?%E0=1' });
});

test('the rules a registration keeps are plain JSON with digests, never the secrets', () => {
  const kept = rules('demo:s3cret', { linkKey: KEY, allowIps: ['10.0.0.0/8'], openPaths: ['/hooks/*'] });
  const json = JSON.stringify(kept);
  assert.equal(JSON.parse(json), kept, 'survives JSON (a cluster can store it)');
  assert.not.ok(json.includes('s3cret') || json.includes(KEY) || json.includes(linkCookieValue(KEY)));
  const revived = JSON.parse(json) as AccessRules;
  assert.is(outcome(decideAccess(revived, visitor({ remote: '10.0.0.1', cookie: COOKIE, authorization: BASIC }))), 'ok');
  assert.equal(summarize(kept), { password: true, privateLink: true, allowIps: 1, openPaths: 1 });
  assert.equal(summarize(undefined), { password: false, privateLink: false, allowIps: 0, openPaths: 0 });
  assert.is(accessRules({ protocol: 2, agent: 't' }), undefined, 'a public share has no rules');
  assert.match(String((accessRules({ protocol: 2, agent: 't', access: { allowIps: ['nope'] } }) as { error: string }).error), /nope/);
  assert.is(linkCookieName('https'), '__Host-porthole-link');
});

test.run();
