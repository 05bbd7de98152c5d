/** Plain HTTP through a real relay and agent to a real local server. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import { Readable } from 'node:stream';
import { agent, freePort, relay, request, startOrigin, tunnelSuite } from '../helpers';

const MiB = 1024 * 1024;
const { it, ctx } = tunnelSuite('http through the tunnel', 'myapp');
const get = (path: string, options: Parameters<typeof request>[2] = {}) =>
  request(ctx.relay.httpPort, ctx.agent.host, { path, ...options });

it('GET returns the local page at the public URL', async () => {
  assert.is(ctx.agent.url, `http://myapp.localhost:${ctx.relay.httpPort}`);
  const reply = await get('/hello');
  assert.is(reply.status, 200);
  assert.is(reply.body.toString(), 'hello from origin\n');
});

it('POST bodies arrive whole, small and chunked', async () => {
  const reply = await get('/echo', {
    method: 'POST',
    body: 'name=porthole',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.is(reply.body.toString(), 'name=porthole');
  const chunked = await new Promise<string>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: ctx.relay.httpPort, path: '/echo', method: 'PUT', headers: { host: ctx.agent.host }, agent: false },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.write('part one, ');
    setTimeout(() => req.end('part two'), 30);
  });
  assert.is(chunked, 'part one, part two');
});

it('a 100 MiB download and a 100 MiB upload keep every byte', async () => {
  const download = await new Promise<{ bytes: number; sha: string }>((resolve, reject) => {
    http
      .get(
        { host: '127.0.0.1', port: ctx.relay.httpPort, path: `/bytes?n=${100 * MiB}`, headers: { host: ctx.agent.host }, agent: false },
        (res) => {
          const hash = createHash('sha256');
          let bytes = 0;
          res.on('data', (d: Buffer) => {
            bytes += d.length;
            hash.update(d);
          });
          res.on('end', () => resolve({ bytes, sha: hash.digest('hex') }));
        },
      )
      .on('error', reject);
  });
  const pattern = Buffer.alloc(64 * 1024, 'porthole-');
  const expected = createHash('sha256');
  for (let i = 0; i < 1600; i++) expected.update(pattern);
  assert.is(download.bytes, 100 * MiB);
  assert.is(download.sha, expected.digest('hex'));

  const block = randomBytes(MiB);
  const upload = new Promise<{ bytes: number; sha256: string }>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: ctx.relay.httpPort,
        path: '/sha',
        method: 'POST',
        headers: { host: ctx.agent.host, 'content-length': 100 * MiB },
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve(JSON.parse(text)));
      },
    );
    req.on('error', reject);
    Readable.from(
      (function* () {
        for (let i = 0; i < 100; i++) yield block;
      })(),
    ).pipe(req);
  });
  const hash = createHash('sha256');
  for (let i = 0; i < 100; i++) hash.update(block);
  const result = await upload;
  assert.is(result.bytes, 100 * MiB);
  assert.is(result.sha256, hash.digest('hex'));
});

it('several Set-Cookie headers stay separate', async () => {
  const reply = await get('/cookies');
  assert.equal(reply.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/', 'c=3; HttpOnly']);
});

it('HEAD, 204 and 304 carry no body and keep their headers', async () => {
  const head = await get('/hello', { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.body.length, 0);
  assert.is(head.headers['content-length'], '18');
  const empty = await get('/nocontent');
  assert.is(empty.status, 204);
  assert.is(empty.body.length, 0);
  const fresh = await get('/etag');
  assert.is(fresh.headers.etag, '"v1"');
  const cached = await get('/etag', { headers: { 'if-none-match': '"v1"' } });
  assert.is(cached.status, 304);
  assert.is(cached.body.length, 0);
});

it('X-Forwarded-* are set by the relay, never taken from the client; Host is rewritten to the target, X-Forwarded-Host left out', async () => {
  const reply = await get('/headers', {
    headers: {
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'evil.example',
      forwarded: 'for=6.6.6.6',
      'x-custom': 'kept',
      'keep-alive': 'timeout=5',
      connection: 'keep-alive, x-drop-me',
      'x-drop-me': 'hop',
    },
  });
  const seen = JSON.parse(reply.body.toString());
  assert.is(seen['x-forwarded-for'], '127.0.0.1');
  assert.is(seen['x-forwarded-proto'], 'http');
  assert.is(seen['x-forwarded-host'], undefined, 'in Host-rewrite mode the local server sees no public host (origins.test.ts)');
  assert.is(seen.forwarded, undefined);
  assert.is(seen['x-drop-me'], undefined, 'headers named in Connection are hop-by-hop');
  assert.is(seen['keep-alive'], undefined);
  assert.is(seen['x-custom'], 'kept');
  assert.is(seen.host, `localhost:${ctx.origin.port}`);
});

it('Expect: 100-continue gets its 100 and the body goes through', async () => {
  const result = await new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
    let continued = false;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: ctx.relay.httpPort,
        path: '/echo',
        method: 'POST',
        headers: { host: ctx.agent.host, expect: '100-continue', 'content-length': 5 },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ continued, body }));
      },
    );
    req.on('continue', () => {
      continued = true;
      req.end('12345');
    });
    req.on('error', reject);
  });
  assert.ok(result.continued);
  assert.is(result.body, '12345');
});

it('public keep-alive: many requests share one connection', async () => {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<net.Socket>();
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: ctx.relay.httpPort, path: '/hello', headers: { host: ctx.agent.host }, agent: keepAlive },
        (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
    });
  }
  keepAlive.destroy();
  assert.is(sockets.size, 1);
});

it('an unknown tunnel gets a 404 page that names it; the apex serves health and status', async () => {
  const missing = await request(ctx.relay.httpPort, `nosuchtunnel.localhost:${ctx.relay.httpPort}`);
  assert.is(missing.status, 404);
  assert.match(missing.body.toString(), /No tunnel named &#34;nosuchtunnel&#34;/);
  const health = await request(ctx.relay.httpPort, `localhost:${ctx.relay.httpPort}`, { path: '/_porthole/health' });
  assert.is(health.status, 200);
  assert.is(JSON.parse(health.body.toString()).tunnels, 1);
  const status = await request(ctx.relay.httpPort, `localhost:${ctx.relay.httpPort}`);
  assert.match(status.body.toString(), /1 tunnel connected/);
});

it('an oversized request head gets 431 and the tunnel keeps working', async () => {
  const big = await get('/hello', { headers: { 'x-big': 'x'.repeat(20_000) } }).catch((e: Error) => e);
  assert.ok(!(big instanceof Error), 'the relay answers instead of dropping the connection');
  if (!(big instanceof Error)) {
    assert.is(big.status, 431);
    assert.match(big.body.toString(), /headers are larger/);
  }
  assert.is((await get('/hello')).status, 200);
});

it.run();

const unreachable = suite('an agent whose local port is closed');
unreachable('gets a 502 page that says nothing is listening there', async () => {
  const port = await freePort();
  const r = await relay();
  const a = await agent(r.url, port, { subdomain: 'nothing' });
  try {
    const reply = await request(r.httpPort, a.host, { path: '/' });
    assert.is(reply.status, 502);
    assert.match(reply.body.toString(), new RegExp(`Nothing is listening on localhost:${port}`));
  } finally {
    await a.stop();
    await r.close(0);
  }
});
unreachable.run();

const auth = suite('--auth protects the public URL');
auth('asks for the password, strips it before the local server, and lets the right one in', async () => {
  const origin = await startOrigin();
  const r = await relay();
  const a = await agent(r.url, origin.port, { subdomain: 'secret', basicAuth: 'demo:s3cret' });
  try {
    const denied = await request(r.httpPort, a.host, { path: '/hello' });
    assert.is(denied.status, 401);
    assert.match(String(denied.headers['www-authenticate']), /^Basic realm="secret"/);
    const wrong = await request(r.httpPort, a.host, {
      path: '/hello',
      headers: { authorization: `Basic ${Buffer.from('demo:nope').toString('base64')}` },
    });
    assert.is(wrong.status, 401);
    const ok = await request(r.httpPort, a.host, {
      path: '/headers',
      headers: { authorization: `Basic ${Buffer.from('demo:s3cret').toString('base64')}` },
    });
    assert.is(ok.status, 200);
    assert.is(JSON.parse(ok.body.toString()).authorization, undefined);
    assert.is(origin.seen.length, 1, 'refused requests never reach the local server');
  } finally {
    await a.stop();
    await r.close(0);
    await origin.close();
  }
});
auth.run();
