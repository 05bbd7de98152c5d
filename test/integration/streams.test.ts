/** Long-lived and concurrent streams: WebSockets, server-sent events, and one slow reader among many. */
import * as assert from 'uvu/assert';
import http from 'node:http';
import WebSocket from 'ws';
import { request, tunnelSuite, waitFor } from '../helpers';

const { it, ctx } = tunnelSuite('streams through the tunnel', 'streams');

it('a WebSocket echoes text and binary messages through the tunnel', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}/ws`, { headers: { host: ctx.agent.host } });
  const replies: (string | Buffer)[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => {
      ws.send('ping-through-tunnel');
      ws.send(Buffer.from([0, 1, 2, 255]));
    });
    ws.on('message', (data: Buffer, isBinary) => {
      replies.push(isBinary ? data : data.toString());
      if (replies.length === 2) resolve();
    });
    ws.on('error', reject);
    setTimeout(() => reject(new Error('no echo within 5 s')), 5000).unref();
  });
  assert.is(replies[0], 'ping-through-tunnel');
  assert.equal([...(replies[1] as Buffer)], [0, 1, 2, 255]);
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  ws.close(1000);
  assert.is(await closed, 1000);
});

it('a large WebSocket message (8 MiB) goes through flow control intact', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}/ws`, { headers: { host: ctx.agent.host } });
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
  const ws = new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}/not-a-socket`, { headers: { host: ctx.agent.host } });
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.on('error', () => undefined);
  });
  assert.is(status, 400);
});

it('server-sent events reach the client as they are sent, not when the response ends', async () => {
  const arrivals: number[] = [];
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    http
      .get(
        {
          host: '127.0.0.1',
          port: ctx.relay.httpPort,
          path: '/sse',
          headers: { host: ctx.agent.host, accept: 'text/event-stream' },
          agent: false,
        },
        (res) => {
          assert.is(res.headers['content-type'], 'text/event-stream');
          res.on('data', (chunk: Buffer) => {
            for (const _ of chunk.toString().matchAll(/data: tick/g)) arrivals.push(Date.now() - started);
          });
          res.on('end', resolve);
        },
      )
      .on('error', reject);
  });
  assert.is(arrivals.length, 5);
  assert.ok(arrivals[0] < 600, `first event after ${arrivals[0]} ms (sent at 200 ms, stream ends at 1000 ms)`);
  assert.ok(arrivals[4] - arrivals[0] > 500, `events spread over ${arrivals[4] - arrivals[0]} ms`);
});

it('a slow reader on one stream does not hold up other requests on the same tunnel', async () => {
  // A client that asks for 200 MiB and reads nothing: the relay and agent must stall that stream only.
  const stalled = http.get({
    host: '127.0.0.1',
    port: ctx.relay.httpPort,
    path: `/bytes?n=${200 * 1024 * 1024}`,
    headers: { host: ctx.agent.host },
    agent: false,
  });
  const response = await new Promise<http.IncomingMessage>((resolve) => stalled.on('response', resolve));
  response.pause();
  await new Promise((r) => setTimeout(r, 300));
  const relayRssBefore = process.memoryUsage().rss;
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: 20 }, () => request(ctx.relay.httpPort, ctx.agent.host, { path: '/hello' })));
  const elapsed = Date.now() - started;
  assert.ok(replies.every((r) => r.status === 200 && r.body.toString() === 'hello from origin\n'));
  assert.ok(elapsed < 2000, `20 requests took ${elapsed} ms beside a stalled download`);
  assert.ok(process.memoryUsage().rss - relayRssBefore < 64 * 1024 * 1024, 'the stalled body is not buffered in memory');
  stalled.destroy();
  await waitFor(() => ctx.relay.registry.lookup('streams')?.activeStreams === 0, 5000, 'the abandoned stream to be released');
});

it.run();
