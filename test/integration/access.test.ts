/**
 * Who may open a share, through a real relay, agents and a local server that records what reaches
 * it: each preset, their combinations, cookies, redirects, 401/403 pages, WebSocket upgrades, a
 * policy the relay refuses, and an agent meeting a relay too old to enforce its rules.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { Agent } from '../../extension/agent/agent';
import { AgentError } from '../../extension/agent/relayConnection';
import { CONNECT_PATH, FrameType, PROTOCOL_VERSION, encodeJson, type Refusal } from '../../core/protocol';
import { encodeRequestHead } from '../../core/heads';
import { agent, closeServer, disposeAfterEach, freePort, relay, request, sleep, waitFor, type Reply } from '../helpers';
import type { Relay } from '../../relay/server';
import { startRelay } from '../../relay/server';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
/** The local server: answers every request with what it saw, and echoes WebSocket messages. */
async function recordingOrigin() {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(entry);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(entry));
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    seen.push({ method: 'UPGRADE', url: req.url ?? '', headers: req.headers, body: '' });
    ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen, close: () => closeServer(server, wss) };
}

const ctx = {} as { origin: Awaited<ReturnType<typeof recordingOrigin>>; relay: Relay; logs: string[] };
const it = suite('access rules through a relay', ctx);
it.before(async () => {
  ctx.origin = await recordingOrigin();
  ctx.logs = [];
  // Listening on :: takes IPv6 and IPv4 (as IPv4-mapped addresses), like a relay on a public server.
  ctx.relay = await startRelay({
    config: { httpPort: 0, host: '::' },
    log: (event, fields) => ctx.logs.push(`${event} ${JSON.stringify(fields)}`),
  });
});
it.after(async () => {
  await ctx.relay?.close(0);
  await ctx.origin?.close();
});
const later = disposeAfterEach(it);

const get = (host: string, path: string, options: Parameters<typeof request>[2] = {}) =>
  request(ctx.relay.httpPort, host, { path, ...options });
/** The same request from ::1, the relay's IPv6 loopback. */
function getV6(host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '::1', port: ctx.relay.httpPort, path, headers: { host }, agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}
const cookiePair = (reply: Reply) => String(reply.headers['set-cookie']?.[0] ?? '').split(';')[0];
const share = async (subdomain: string, options: ConstructorParameters<typeof Agent>[0] extends infer O ? Partial<O> : never) =>
  later(await agent(ctx.relay.url, ctx.origin.port, { subdomain, ...options }), (a) => a.stop());

it('private link: refused without it; the link sets a cookie and redirects to the clean URL; neither reaches the local server', async () => {
  const a = await share('priv', { access: { privateLink: true } });
  try {
    const link = new URL(a.link ?? '');
    const key = link.searchParams.get('porthole_key') ?? '';
    assert.ok(key.length >= 32, 'the link carries a long key');
    assert.is(link.origin, new URL(a.url ?? '').origin);

    const before = ctx.origin.seen.length;
    const refused = await get(a.host, '/page');
    assert.is(refused.status, 403);
    assert.match(refused.body.toString(), /This share is private\. Open it with the link its owner gave you\./);

    const opened = await get(a.host, `/page?x=1&porthole_key=${key}`);
    assert.is(opened.status, 303);
    assert.is(opened.headers.location, `http://${a.host}/page?x=1`);
    const setCookie = String(opened.headers['set-cookie']);
    assert.match(setCookie, /^porthole-link=[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    assert.is(opened.headers['cache-control'], 'no-store');
    assert.is(ctx.origin.seen.length, before, 'nothing reached the local server yet');

    const head = await get(a.host, `/?porthole_key=${key}`, { method: 'HEAD' });
    assert.is(head.status, 303);
    assert.is(head.body.length, 0);

    const cookie = `theme=dark; ${cookiePair(opened)}; session=abc`;
    const inside = await get(a.host, '/page?x=1', { headers: { cookie } });
    assert.is(inside.status, 200);
    const seen = JSON.parse(inside.body.toString()) as Seen;
    assert.is(seen.url, '/page?x=1');
    assert.is(seen.headers.cookie, 'theme=dark; session=abc', 'the relay cookie is taken out, the others stay');

    const posted = await get(a.host, `/api?porthole_key=${key}`, { method: 'POST', body: 'hi' });
    assert.is(posted.status, 200, 'a POST carrying the key goes through');
    assert.is((JSON.parse(posted.body.toString()) as Seen).url, '/api');

    const wrong = await get(a.host, '/?porthole_key=not-the-right-key-at-all');
    assert.is(wrong.status, 403);
    assert.match(wrong.body.toString(), /does not \(or no longer\) open this share/);

    const everything = JSON.stringify(ctx.origin.seen) + ctx.logs.join('\n');
    assert.not.ok(everything.includes(key), 'the key reached neither the local server nor the relay log');
    assert.not.ok(everything.includes(cookiePair(opened).split('=')[1]), 'nor did the cookie');
  } finally {
    await a.stop();
  }
});

it('a private link cookie opens only its own tunnel', async () => {
  const a = await share('priv-a', { access: { privateLink: true } });
  const b = await share('priv-b', { access: { privateLink: true } });
  try {
    const keyOf = (link?: string) => new URL(link ?? '').searchParams.get('porthole_key');
    const cookieA = cookiePair(await get(a.host, `/?porthole_key=${keyOf(a.link)}`));
    assert.is((await get(a.host, '/', { headers: { cookie: cookieA } })).status, 200);
    assert.is((await get(b.host, '/', { headers: { cookie: cookieA } })).status, 403, "A's cookie does not open B");
    assert.is((await get(b.host, `/?porthole_key=${keyOf(a.link)}`)).status, 403, "nor does A's key");
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

it('WebSocket upgrades obey the same rules: refused without the link, through with the cookie or the key', async () => {
  const a = await share('priv-ws', { access: { privateLink: true } });
  const key = new URL(a.link ?? '').searchParams.get('porthole_key') ?? '';
  const cookie = cookiePair(await get(a.host, `/?porthole_key=${key}`));
  const open = (path: string, headers: Record<string, string> = {}) =>
    new Promise<WebSocket | number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}${path}`, { headers: { host: a.host, ...headers } });
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', reject);
    });
  const echo = async (ws: WebSocket) => {
    const reply = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('ping through');
    const text = await reply;
    ws.close();
    return text;
  };
  try {
    assert.is(await open('/ws'), 403);
    const withCookie = await open('/ws', { cookie });
    assert.ok(withCookie instanceof WebSocket, 'the cookie opens the socket');
    assert.is(await echo(withCookie as WebSocket), 'ping through');
    const withKey = await open(`/ws?porthole_key=${key}&v=2`);
    assert.ok(withKey instanceof WebSocket, 'the key opens the socket');
    assert.is(await echo(withKey as WebSocket), 'ping through');
    const upgrades = ctx.origin.seen.filter((s) => s.method === 'UPGRADE');
    assert.equal(
      upgrades.map((s) => s.url),
      ['/ws', '/ws?v=2'],
    );
    assert.not.ok(JSON.stringify(upgrades).includes(key) || JSON.stringify(upgrades).includes(cookie.split('=')[1]));
  } finally {
    await a.stop();
  }
});

it('IP allow-list: IPv4, IPv6 and IPv4-mapped visitors; others get a 403 naming the rule, not the list', async () => {
  const v4 = await share('acl-v4', { access: { allowIps: ['127.0.0.0/8'] } });
  const v6 = await share('acl-v6', { access: { allowIps: ['::1/128'] } });
  const other = await share('acl-other', { access: { allowIps: ['10.0.0.0/8', '2001:db8::/32'] } });
  try {
    assert.is((await get(v4.host, '/')).status, 200, '127.0.0.1 (seen as ::ffff:127.0.0.1) is in 127.0.0.0/8');
    assert.is(await getV6(v4.host, '/'), 403, '::1 is not');
    assert.is(await getV6(v6.host, '/'), 200, '::1 is in ::1/128');
    assert.is((await get(v6.host, '/')).status, 403);
    const refused = await get(other.host, '/');
    assert.is(refused.status, 403);
    const page = refused.body.toString();
    assert.match(page, /IP allow-list/);
    assert.match(page, /your address (::ffff:)?127\.0\.0\.1 is not one of them/);
    assert.not.match(page, /10\.0\.0\.0|2001:db8/);
  } finally {
    await Promise.all([v4.stop(), v6.stop(), other.stop()]);
  }
});

it('open paths let a webhook through a private, password-protected share; traversal and encodings do not', async () => {
  const a = await share('hooks', { basicAuth: 'demo:s3cret', access: { privateLink: true, openPaths: ['/webhooks/*'] } });
  try {
    const hook = await get(a.host, '/webhooks/stripe?id=7', {
      method: 'POST',
      body: '{"event":"paid"}',
      headers: { authorization: 'Bearer provider-signature' },
    });
    assert.is(hook.status, 200);
    const seen = JSON.parse(hook.body.toString()) as Seen;
    assert.is(seen.body, '{"event":"paid"}');
    assert.is(seen.headers.authorization, 'Bearer provider-signature', "an open path keeps the caller's own Authorization");
    for (const path of ['/admin', '/webhooks/../admin', '/webhooks/%2e%2e/admin', '/webhooks/a%2fb', '/webhooks//admin', '/webhooks/a/b']) {
      assert.is((await get(a.host, path, { method: 'POST' })).status, 403, path);
    }
  } finally {
    await a.stop();
  }
});

it('all rules at once: allow-list, then link, then password', async () => {
  const a = await share('fortress', {
    basicAuth: 'demo:s3cret',
    access: { privateLink: true, allowIps: ['127.0.0.1', '::ffff:127.0.0.1'] },
  });
  try {
    const key = new URL(a.link ?? '').searchParams.get('porthole_key');
    assert.is(await getV6(a.host, `/?porthole_key=${key}`), 403, 'outside the list, even with the link');
    const cookie = cookiePair(await get(a.host, `/?porthole_key=${key}`));
    assert.ok(cookie.startsWith('porthole-link='));
    const noPassword = await get(a.host, '/', { headers: { cookie } });
    assert.is(noPassword.status, 401);
    assert.match(String(noPassword.headers['www-authenticate']), /^Basic realm="fortress"/);
    const auth = `Basic ${Buffer.from('demo:s3cret').toString('base64')}`;
    assert.is((await get(a.host, '/', { headers: { authorization: auth } })).status, 403, 'the password without the link');
    const inside = await get(a.host, '/in', { headers: { cookie, authorization: auth } });
    assert.is(inside.status, 200);
    const seen = JSON.parse(inside.body.toString()) as Seen;
    assert.is(seen.headers.authorization, undefined, 'the password stays at the relay');
    assert.is(seen.headers.cookie, undefined, 'and so does the cookie');
  } finally {
    await a.stop();
  }
});

it('the private link and its cookie outlive a relay restart: the agent keeps its key', async () => {
  const port = await freePort();
  let r = later(await relay({ httpPort: port }), (x) => x.close(0));
  const a = later(await agent(r.url, ctx.origin.port, { subdomain: 'lasting', access: { privateLink: true } }), (x) => x.stop());
  try {
    const link = a.link;
    const cookie = cookiePair(
      await request(port, a.host, { path: `/?porthole_key=${new URL(link ?? '').searchParams.get('porthole_key')}` }),
    );
    await r.close(0);
    r = later(await relay({ httpPort: port }), (x) => x.close(0));
    await waitFor(
      async () => (await request(port, a.host, { headers: { cookie } })).status === 200,
      15_000,
      'the cookie working after the restart',
    );
    assert.is(a.link, link);
    assert.is((await request(port, a.host)).status, 403, 'and the share is still private');
  } finally {
    await a.stop();
    await r.close(0);
  }
});

/** A hand-made agent's HELLO; resolves with the relay's REFUSE. */
async function refusalFor(access: unknown): Promise<Refusal> {
  const ws = later(
    new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}${CONNECT_PATH}`, { headers: { host: `localhost:${ctx.relay.httpPort}` } }),
    (w) => w.terminate(),
  );
  const refusal = new Promise<Refusal>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      if (data[0] === FrameType.Refuse) resolve(JSON.parse(data.subarray(9).toString()) as Refusal);
      else reject(new Error(`expected REFUSE, got frame type ${data[0]}`));
    });
    ws.on('close', () => reject(new Error('closed without REFUSE')));
  });
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(encodeJson(FrameType.Hello, 0, { protocol: PROTOCOL_VERSION, agent: 'hand-made', access }));
  return refusal.finally(() => ws.terminate());
}

it('the relay refuses a policy it cannot enforce, with a sentence; the CLI-side check says the same before connecting', async () => {
  assert.equal(await refusalFor({ allowIps: ['10.0.0.0/99'] }), {
    code: 'access',
    message: '--allow-ip "10.0.0.0/99" has an invalid prefix length: an IPv4 range takes /0 to /32.',
  });
  assert.match(
    (await refusalFor({ openPaths: ['/hooks/../admin'] })).message,
    /Open path "\/hooks\/\.\.\/admin" has a "\." or "\.\." segment/,
  );
  assert.match((await refusalFor({ linkKey: 'short' })).message, /16 to 128/);
  assert.match((await refusalFor({ geoFence: ['EU'] })).message, /does not know the access rule geoFence.*update the relay/);
  const malformed = await refusalFor({ allowIps: '10.0.0.0/8' }).catch((e: Error) => e);
  assert.ok(malformed instanceof Error, 'a policy of the wrong shape closes the connection as malformed');
  assert.throws(() => new Agent({ target: '1', relay: ctx.relay.url, access: { allowIps: ['nope'] } }), /"nope" is not an IP range/);
});

it('a relay too old to enforce access rules: the agent serves nothing and says to update the relay', async () => {
  // A relay of protocol 2 as released before access rules: it ignores `access`, welcomes, and opens
  // streams at once, the first in the same message as WELCOME (frames of one turn leave together).
  const old = later(new WebSocketServer({ port: 0, host: '127.0.0.1' }), async (server) => {
    for (const client of server.clients) client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });
  const open = (id: number) => encodeRequestHead(id, { method: 'GET', path: '/leak', headers: ['Host', 'old.localhost'] });
  old.on('connection', (ws) =>
    ws.on('message', () => {
      const welcome = { url: 'http://old.localhost', subdomain: 'old', resume: 'r'.repeat(24), heartbeat: 15, maxFrame: 262144 };
      ws.send(Buffer.concat([encodeJson(FrameType.Welcome, 0, welcome), open(1)]));
      ws.send(open(3));
    }),
  );
  await new Promise((resolve) => old.once('listening', resolve));
  const port = (old.address() as AddressInfo).port;
  const before = ctx.origin.seen.length;
  const a = later(new Agent({ target: String(ctx.origin.port), relay: `http://127.0.0.1:${port}`, access: { privateLink: true } }), (x) =>
    x.stop(),
  );
  try {
    const error = await a.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof AgentError, String(error));
    assert.is((error as AgentError).code, 'version');
    assert.match(
      (error as AgentError).message,
      /older than this agent and cannot enforce a private link.*nothing was shared\. Update the relay/,
    );
    await sleep(300);
    assert.is(ctx.origin.seen.length, before, 'the streams the old relay opened never reached the local server');
  } finally {
    await a.stop();
    for (const client of old.clients) client.terminate();
    await new Promise((resolve) => old.close(resolve));
  }
});

it.run();
