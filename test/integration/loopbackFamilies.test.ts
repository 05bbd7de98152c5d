/**
 * A dev server listening on one loopback family only: shared by its port number, the agent finds it
 * on 127.0.0.1 or on ::1, for requests and WebSocket upgrades alike, whatever /etc/hosts says of
 * localhost; when nothing listens, the visitor's page names both addresses tried.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { agent, closeServer, freePort, relay, request } from '../helpers';
import type { Relay } from '../../relay/server';

const ctx = {} as { relay: Relay };
const it = suite('one loopback family', ctx);
it.before(async () => {
  ctx.relay = await relay();
});
it.after(async () => {
  await ctx.relay.close(0);
});

/** A server on `host` alone that says which address it was reached on, with a WebSocket echo at /ws. */
async function serverOn(host: '::1' | '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => res.end(`on ${req.socket.localAddress}`));
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo ${data}`)));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server, wss) };
}

function echo(host: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ctx.relay.httpPort}/ws`, { headers: { host } });
    ws.once('open', () => ws.send(text));
    ws.once('message', (data) => {
      resolve(String(data));
      ws.close();
    });
    ws.once('error', reject);
  });
}

for (const family of ['::1', '127.0.0.1'] as const) {
  it(`a server on ${family} only is shared by its port number: requests and WebSockets`, async () => {
    const server = await serverOn(family);
    const shared = await agent(ctx.relay.url, server.port, { subdomain: `only-${family === '::1' ? 'v6' : 'v4'}` });
    try {
      const reply = await request(ctx.relay.httpPort, shared.host, { path: '/' });
      assert.is(reply.status, 200);
      assert.is(reply.body.toString(), `on ${family}`);
      assert.is(await echo(shared.host, 'hi'), 'echo hi');
    } finally {
      await shared.stop();
      await server.close();
    }
  });
}

it('nothing on the port: the page names both addresses tried', async () => {
  const port = await freePort();
  const shared = await agent(ctx.relay.url, port, { subdomain: 'nobody' });
  try {
    const reply = await request(ctx.relay.httpPort, shared.host, { path: '/' });
    assert.is(reply.status, 502);
    assert.match(reply.body.toString(), new RegExp(`Nothing is listening on localhost:${port} \\(tried 127\\.0\\.0\\.1 and ::1\\)`));
  } finally {
    await shared.stop();
  }
});

it('a target typed as 127.0.0.1 is that address alone, and the page says how to have both tried', async () => {
  const server = await serverOn('::1');
  const shared = await agent(ctx.relay.url, 0, { target: `127.0.0.1:${server.port}`, subdomain: 'typed-v4' });
  try {
    const reply = await request(ctx.relay.httpPort, shared.host, { path: '/' });
    assert.is(reply.status, 502);
    assert.match(
      reply.body.toString(),
      new RegExp(
        `Nothing is listening on 127\\.0\\.0\\.1:${server.port} \\(connection refused\\)\\..*Shared by its port number \\(${server.port}\\), the agent tries both 127\\.0\\.0\\.1 and ::1\\.`,
      ),
    );
  } finally {
    await shared.stop();
    await server.close();
  }
});

it.run();
