/** Long-lived and concurrent streams: WebSockets, server-sent events, and one slow reader among many. */
import * as assert from 'uvu/assert';
import http from 'node:http';
import WebSocket from 'ws';
import { request, stepEvents, tunnelSuite, waitFor, withTimeout } from '../helpers';

const { it, ctx, later } = tunnelSuite('streams through the tunnel', 'streams');
const terminate = (ws: WebSocket) => ws.terminate();

it('a WebSocket echoes text and binary messages through the tunnel', async () => {
  const ws = later(new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}/ws`, { headers: { host: ctx.agent.host } }), terminate);
  const replies: (string | Buffer)[] = [];
  const echoed = new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      ws.send('ping-through-tunnel');
      ws.send(Buffer.from([0, 1, 2, 255]));
    });
    ws.on('message', (data: Buffer, isBinary) => {
      replies.push(isBinary ? data : data.toString());
      if (replies.length === 2) resolve();
    });
    ws.on('error', reject);
  });
  await withTimeout(echoed, 30_000, 'the echo');
  assert.is(replies[0], 'ping-through-tunnel');
  assert.equal([...(replies[1] as Buffer)], [0, 1, 2, 255]);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.close(1000);
  assert.is(await closed, 1000);
});

it('a large WebSocket message (8 MiB) goes through flow control intact', async () => {
  const ws = later(new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}/ws`, { headers: { host: ctx.agent.host } }), terminate);
  const payload = Buffer.alloc(8 * 1024 * 1024, 7);
  const echoed = await new Promise<Buffer>((resolve, reject) => {
    ws.on('open', () => ws.send(payload));
    ws.on('message', (data: Buffer) => resolve(data));
    ws.on('error', reject);
  });
  ws.terminate();
  assert.ok(echoed.equals(payload));
});

it('an upgrade the local server refuses comes back as its HTTP answer', async () => {
  const ws = later(new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}/not-a-socket`, { headers: { host: ctx.agent.host } }), terminate);
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.on('error', () => undefined);
  });
  assert.is(status, 400);
});

it('server-sent events reach the client as they are sent, each before the server sends the next', async () => {
  let text = '';
  const ended = new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port: ctx.relay.httpPort,
        path: '/sse/held?id=streams',
        headers: { host: ctx.agent.host, accept: 'text/event-stream' },
        agent: false,
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve(res));
      },
    );
    later(req, (r) => r.destroy());
    req.on('error', reject);
  });
  await stepEvents(ctx.origin, 'streams', () => text);
  const res = await ended;
  assert.is(res.headers['content-type'], 'text/event-stream');
  assert.is(text.match(/data: tick \d/g)?.length, 5);
});

it('a slow reader on one stream does not hold up other requests on the same tunnel', async () => {
  // A client that asks for 200 MiB and reads nothing: the relay and agent must stall that stream only.
  const stalled = later(
    http.get({
      host: '127.0.0.1',
      port: ctx.relay.httpPort,
      path: `/bytes?n=${200 * 1024 * 1024}`,
      headers: { host: ctx.agent.host },
      agent: false,
    }),
    (req) => req.destroy(),
  );
  const response = await new Promise<http.IncomingMessage>((resolve) => stalled.on('response', resolve));
  response.pause();
  // Until the tunnel holds the stalled stream's window and the sockets' buffers are full.
  await waitFor(() => ctx.relay.registry.lookup('streams')?.activeStreams === 1, 10_000, 'the download to be under way');
  await new Promise((r) => setTimeout(r, 300));
  const relayRssBefore = process.memoryUsage().rss;
  const started = Date.now();
  // They complete while the download is still stalled: a tunnel held up by it would never answer them.
  const replies = await Promise.all(
    Array.from({ length: 20 }, () => request(ctx.relay.httpPort, ctx.agent.host, { path: '/hello', timeout: 30_000 })),
  );
  console.log(`    20 requests beside a stalled download: ${Date.now() - started} ms`);
  assert.ok(replies.every((r) => r.status === 200 && r.body.toString() === 'hello from origin\n'));
  assert.not.ok(response.complete, 'the download is still stalled');
  assert.ok(process.memoryUsage().rss - relayRssBefore < 64 * 1024 * 1024, 'the stalled body is not buffered in memory');
  stalled.destroy();
  await waitFor(() => ctx.relay.registry.lookup('streams')?.activeStreams === 0, 10_000, 'the abandoned stream to be released');
});

it.run();
