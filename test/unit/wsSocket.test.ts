/**
 * What core/wsSocket.ts relies on inside ws, checked against the installed release. If one of these
 * fails after a ws update, the message writer's direct writes are no longer safe: fix the adapter
 * (or let ws.send do all the writing) before moving the pin in package.json.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { frameSocket } from '../../core/wsSocket';
import { writeMessages } from '../../core/messageWriter';

const wsVersion = (createRequire(__filename)('ws/package.json') as { version: string }).version;

/** A server and a client WebSocket on loopback; the server's socket as the HTTP server saw it. */
async function connected(perMessageDeflate: boolean) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  await new Promise((resolve) => wss.once('listening', resolve));
  const accepted = new Promise<{ ws: WebSocket; socket: net.Socket }>((resolve) =>
    wss.once('connection', (ws, req) => resolve({ ws, socket: req.socket })),
  );
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate });
  let clientSocket!: net.Socket;
  client.once('upgrade', (res) => {
    clientSocket = res.socket;
  });
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  const server = await accepted;
  return {
    server,
    client,
    clientSocket,
    close: () => {
      client.terminate();
      wss.close();
    },
  };
}

/** An unmasked binary WebSocket frame, as the relay's writer builds them (payloads under 126 bytes). */
function rawFrame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x82, payload.length]), payload]);
}

test(`ws ${wsVersion}: _socket is the socket the WebSocket writes to, on both ends`, async () => {
  const c = await connected(false);
  try {
    assert.ok(frameSocket(c.server.ws) === c.server.socket, 'server: the socket the upgrade came in on');
    assert.ok(frameSocket(c.client) === c.clientSocket, 'client: the socket the upgrade response came in on');
    assert.ok(c.server.socket instanceof net.Socket);
  } finally {
    c.close();
  }
});

test(`ws ${wsVersion}: extensions is empty text without compression, and then frames may go to the socket`, async () => {
  const c = await connected(false);
  try {
    assert.is(c.server.ws.extensions, '');
    assert.is(c.client.extensions, '');
  } finally {
    c.close();
  }
  const deflating = await connected(true);
  try {
    assert.type(deflating.server.ws.extensions, 'string');
    assert.match(deflating.server.ws.extensions, /permessage-deflate/);
    assert.is(frameSocket(deflating.server.ws), undefined, 'never write past a compressing ws');
    assert.is(frameSocket(deflating.client), undefined);
  } finally {
    deflating.close();
  }
});

test(`ws ${wsVersion}: send writes its frame to the socket at once, so direct writes keep their place`, async () => {
  const c = await connected(false);
  try {
    const socket = frameSocket(c.server.ws) as net.Socket;
    socket.cork();
    const before = socket.writableLength;
    c.server.ws.send(Buffer.from('abc'), { binary: true });
    assert.is(socket.writableLength - before, 2 + 3, 'the whole frame is in the socket when send returns');
    socket.uncork();

    const received: string[] = [];
    const all = new Promise<void>((resolve) =>
      c.client.on('message', (data: Buffer) => {
        received.push(data.toString());
        if (received.length === 7) resolve();
      }),
    );
    for (let i = 0; i < 3; i++) {
      c.server.ws.send(Buffer.from(`send ${i}`), { binary: true });
      socket.write(rawFrame(Buffer.from(`direct ${i}`)));
    }
    await all;
    assert.equal(received, ['abc', 'send 0', 'direct 0', 'send 1', 'direct 1', 'send 2', 'direct 2']);
  } finally {
    c.close();
  }
});

test(`ws ${wsVersion}: the message writer's frames arrive whole from both ends (zero masking key from the client)`, async () => {
  const c = await connected(false);
  try {
    const toClient = new Promise<Buffer[]>((resolve) => {
      const got: Buffer[] = [];
      c.client.on('message', (data: Buffer) => got.push(data) === 2 && resolve(got));
    });
    const toServer = new Promise<Buffer[]>((resolve) => {
      const got: Buffer[] = [];
      c.server.ws.on('message', (data: Buffer) => got.push(data) === 2 && resolve(got));
    });
    const large = Buffer.alloc(70_000, 7);
    const messages = [{ head: Buffer.from('small') }, { head: Buffer.from('head'), payload: large }];
    writeMessages(c.server.ws, 'none', messages, () => undefined);
    writeMessages(c.client, 'zero-key', messages, () => undefined);
    for (const got of [await toClient, await toServer]) {
      assert.is(got[0].toString(), 'small');
      assert.ok(got[1].equals(Buffer.concat([Buffer.from('head'), large])));
    }
  } finally {
    c.close();
  }
});

test.run();
