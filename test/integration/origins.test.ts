/**
 * Host-rewrite mode through a real relay and agent: the local server sees the request as if the
 * visitor had opened it directly, and what it says about its own origin reaches the visitor as the
 * public origin. Preserve mode passes everything on as sent. The local server here does what dev
 * servers do: it refuses a POST or a WebSocket whose Origin is not its own `http://<Host>`.
 */
import http from 'node:http';
import type net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import type { RequestRecord } from '../../extension/agent/requestRecord';
import { agent, closeServer, relay, request, waitFor, type Reply } from '../helpers';

interface StrictOrigin {
  port: number;
  seen: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** A local server with a dev server's same-origin checks; `/respond?Name=value` answers with those headers. */
async function startStrictOrigin(): Promise<StrictOrigin> {
  const seen: http.IncomingHttpHeaders[] = [];
  const sameOrigin = (req: http.IncomingMessage) => req.headers.origin === `http://${req.headers.host}`;
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const url = new URL(req.url ?? '/', 'http://origin');
    if (url.pathname === '/respond') {
      const status = Number(url.searchParams.get('status') ?? 200);
      res.writeHead(status, [...url.searchParams].filter(([name]) => name !== 'status').flat());
      return res.end();
    }
    if (req.method === 'POST') {
      res.writeHead(sameOrigin(req) ? 200 : 403);
      return res.end(
        sameOrigin(req) ? 'accepted' : `cross-site POST refused: Origin ${req.headers.origin} is not http://${req.headers.host}`,
      );
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
  });
  const wss = new WebSocketServer({ server, verifyClient: ({ req }: { req: http.IncomingMessage }) => sameOrigin(req) });
  wss.on('connection', (ws, req) => {
    seen.push(req.headers);
    ws.send('hello');
  });
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
  return { port, seen, close: () => closeServer(server, wss) };
}

interface Ctx {
  origin: StrictOrigin;
  relay: Awaited<ReturnType<typeof relay>>;
  rewrite: Awaited<ReturnType<typeof agent>>;
  preserve: Awaited<ReturnType<typeof agent>>;
  records: RequestRecord[];
}

const test = suite<Ctx>('origins in Host-rewrite and preserve mode', {} as Ctx);

test.before(async (ctx) => {
  ctx.origin = await startStrictOrigin();
  ctx.relay = await relay();
  ctx.rewrite = await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'rewrite' });
  ctx.preserve = await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'preserve', hostHeader: 'preserve' });
  ctx.records = [];
  ctx.rewrite.on('request', (r) => ctx.records.push(r));
});

test.after(async (ctx) => {
  await ctx.rewrite.stop();
  await ctx.preserve.stop();
  await ctx.relay.close(0);
  await ctx.origin.close();
});

const publicOrigin = (share: { host: string }) => `http://${share.host}`;
const respond = (ctx: Ctx, share: { host: string }, headers: Record<string, string>): Promise<Reply> =>
  request(ctx.relay.httpPort, share.host, { path: `/respond?${new URLSearchParams({ status: '302', ...headers })}` });

test('a redirect to the local server, however it spells itself, lands on the public origin', async (ctx) => {
  const local = ctx.origin.port;
  for (const spelling of [
    `http://localhost:${local}`,
    `http://127.0.0.1:${local}`,
    `http://[::1]:${local}`,
    `https://localhost:${local}`,
  ]) {
    const reply = await respond(ctx, ctx.rewrite, { Location: `${spelling}/landed?next=%2Fa#top` });
    assert.is(reply.headers.location, `${publicOrigin(ctx.rewrite)}/landed?next=%2Fa#top`, spelling);
  }
  const refresh = await respond(ctx, ctx.rewrite, {
    Refresh: `0; url=http://localhost:${local}/next`,
    'Content-Location': `http://localhost:${local}/doc`,
  });
  assert.is(refresh.headers.refresh, `0; url=${publicOrigin(ctx.rewrite)}/next`);
  assert.is(refresh.headers['content-location'], `${publicOrigin(ctx.rewrite)}/doc`);
});

test('relative redirects and redirects elsewhere are left alone', async (ctx) => {
  for (const location of [
    '/landed',
    'landed',
    'https://github.com/login?redirect_uri=http://localhost:5173/cb',
    `http://localhost:${ctx.origin.port + 1}/`,
  ]) {
    assert.is((await respond(ctx, ctx.rewrite, { Location: location })).headers.location, location);
  }
});

test('the local server sees its own Host, Origin and Referer, and no X-Forwarded-Host; X-Forwarded-Proto and -For stay', async (ctx) => {
  const reply = await request(ctx.relay.httpPort, ctx.rewrite.host, {
    path: '/headers',
    headers: { origin: publicOrigin(ctx.rewrite), referer: `${publicOrigin(ctx.rewrite)}/form?x=1` },
  });
  const seen = JSON.parse(reply.body.toString());
  const local = `localhost:${ctx.origin.port}`;
  assert.is(seen.host, local);
  assert.is(seen.origin, `http://${local}`);
  assert.is(seen.referer, `http://${local}/form?x=1`);
  assert.is(seen['x-forwarded-host'], undefined);
  assert.is(seen['x-forwarded-proto'], 'http');
  assert.is(seen['x-forwarded-for'], '127.0.0.1');
});

test("a same-origin POST passes the local server's check; a cross-site one is still refused", async (ctx) => {
  const post = (origin: string) =>
    request(ctx.relay.httpPort, ctx.rewrite.host, { path: '/form', method: 'POST', body: 'a=1', headers: { origin } });
  const same = await post(publicOrigin(ctx.rewrite));
  assert.is(same.status, 200, same.body.toString());
  const cross = await post('https://evil.example');
  assert.is(cross.status, 403);
  assert.match(cross.body.toString(), 'Origin https://evil.example is not');
  const sibling = await post(publicOrigin(ctx.preserve));
  assert.is(sibling.status, 403, 'another share on the same relay is another site');
});

test('a WebSocket from the public origin passes the same check; one from elsewhere is refused', async (ctx) => {
  const open = (origin: string) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}/hmr`, { headers: { host: ctx.rewrite.host }, origin });
      ws.on('message', (data) => {
        resolve(`message: ${data}`);
        ws.close();
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(`refused: ${res.statusCode}`);
        ws.terminate();
      });
      ws.on('error', (error) => resolve(`error: ${error.message}`));
    });
  assert.is(await open(publicOrigin(ctx.rewrite)), 'message: hello');
  assert.is(ctx.origin.seen.at(-1)?.origin, `http://localhost:${ctx.origin.port}`);
  assert.is(await open('https://evil.example'), 'refused: 401');
});

test('the request log keeps both sides: as the visitor sent and got it, and as the local server got and sent it', async (ctx) => {
  ctx.records.length = 0;
  await request(ctx.relay.httpPort, ctx.rewrite.host, {
    path: `/respond?${new URLSearchParams({ status: '303', Location: `http://localhost:${ctx.origin.port}/done` })}`,
    headers: { origin: publicOrigin(ctx.rewrite) },
  });
  const [record] = await waitFor(() => ctx.records.length > 0 && ctx.records, 15_000, 'the request record');
  const header = (raw: string[], name: string) => raw[raw.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name) + 1];
  assert.is(header(record.requestHeaders, 'origin'), publicOrigin(ctx.rewrite));
  assert.is(header(record.localRequestHeaders, 'origin'), `http://localhost:${ctx.origin.port}`);
  assert.is(header(record.requestHeaders, 'host'), ctx.rewrite.host);
  assert.is(header(record.localRequestHeaders, 'host'), `localhost:${ctx.origin.port}`);
  assert.is(header(record.responseHeaders, 'location'), `http://localhost:${ctx.origin.port}/done`);
  assert.is(header(record.visitorResponseHeaders, 'location'), `${publicOrigin(ctx.rewrite)}/done`);
});

test('preserve mode passes Host, Origin, X-Forwarded-Host and Location on exactly as sent', async (ctx) => {
  const reply = await request(ctx.relay.httpPort, ctx.preserve.host, { path: '/headers', headers: { origin: publicOrigin(ctx.preserve) } });
  const seen = JSON.parse(reply.body.toString());
  assert.is(seen.host, ctx.preserve.host);
  assert.is(seen.origin, publicOrigin(ctx.preserve));
  assert.is(seen['x-forwarded-host'], ctx.preserve.host);
  const location = `http://localhost:${ctx.origin.port}/landed`;
  assert.is((await respond(ctx, ctx.preserve, { Location: location })).headers.location, location);
});

test.run();
