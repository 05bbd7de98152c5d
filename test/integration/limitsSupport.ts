/** Clients for the connection-limit tests: slow-loris sockets and a bare agent, each from a chosen loopback address. */
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { CONNECT_PATH, FrameType, PROTOCOL_VERSION, decodeFrames, encodeFrame, encodeJson, type Welcome } from '../../core/protocol';
import { encodeResponseHead } from '../../core/heads';
import type { Relay } from '../../relay/server';
import { waitFor } from '../helpers';

/** A socket that sends part of a request head, then one byte every `dripMs`: a slow-loris client. */
export interface SlowClient {
  socket: net.Socket;
  /** What the relay sent, as text. */
  answer: string;
  closed: boolean;
}

export function slowClient(port: number, host: string, localAddress?: string, dripMs = 5_000): SlowClient {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  const client: SlowClient = { socket, answer: '', closed: false };
  const drip = setInterval(() => socket.write('a'), dripMs);
  socket.on('connect', () => socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nX-Slow: `));
  socket.on('data', (data) => {
    client.answer += data.toString('latin1');
  });
  socket.on('error', () => undefined); // a refusal may reset it; `closed` and `answer` tell
  socket.on('close', () => {
    clearInterval(drip);
    client.closed = true;
  });
  return client;
}

/** Opens `count` slow clients, `inParallel` at a time, each batch connected before the next. */
export async function slowClients(
  count: number,
  port: number,
  host: string,
  localAddress?: string,
  inParallel = 100,
): Promise<SlowClient[]> {
  const clients: SlowClient[] = [];
  for (let opened = 0; opened < count; opened += inParallel) {
    const batch = Array.from({ length: Math.min(inParallel, count - opened) }, () => slowClient(port, host, localAddress));
    await Promise.all(
      batch.map(
        (c) =>
          new Promise((resolve) => (c.socket.connecting ? c.socket.once('connect', resolve).once('close', resolve) : resolve(undefined))),
      ),
    );
    clients.push(...batch);
  }
  return clients;
}

export interface BareAgent {
  ws: WebSocket;
  welcome: Welcome;
  close(): Promise<void>;
}

/**
 * A minimal agent over a bare WebSocket from `localAddress` (the real Agent cannot choose its
 * address): HELLO, WELCOME, and every request answered 200 with `body`.
 */
export async function bareAgent(
  port: number,
  subdomain: string,
  localAddress?: string,
  body = 'hello from a bare agent\n',
): Promise<BareAgent> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${CONNECT_PATH}`, {
    headers: { host: `localhost:${port}` },
    localAddress,
    perMessageDeflate: false,
  });
  const welcome = await new Promise<Welcome>((resolve, reject) => {
    ws.once('open', () => ws.send(encodeJson(FrameType.Hello, 0, { protocol: PROTOCOL_VERSION, agent: 'bare-test-agent', subdomain })));
    ws.on('message', (message: Buffer) => {
      for (const frame of decodeFrames(message)) {
        if (frame.type === FrameType.Welcome) resolve(JSON.parse(frame.payload.toString()) as Welcome);
        else if (frame.type === FrameType.Refuse) reject(new Error(`refused: ${frame.payload.toString()}`));
        else if (frame.type === FrameType.Open) {
          const headers = ['content-type', 'text/plain', 'content-length', String(Buffer.byteLength(body))];
          ws.send(
            Buffer.concat([
              encodeResponseHead(frame.stream, { status: 200, headers }),
              encodeFrame(FrameType.Data, frame.stream, Buffer.from(body)),
              encodeFrame(FrameType.End, frame.stream),
            ]),
          );
        }
      }
    });
    ws.once('error', reject);
    ws.once('close', (code, reason) => reject(new Error(`closed before WELCOME: ${code} ${reason}`)));
  });
  return {
    ws,
    welcome,
    close: () =>
      new Promise((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close(1000, 'test done');
      }),
  };
}

/** A GET through `agent` (keep-alive connections, as a browser holds them); resolves with the status. */
export function statusVia(agent: http.Agent, port: number, host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    http
      .get({ host: '127.0.0.1', port, path, headers: { host }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject),
  );
}

/** The value of one line of the relay's metrics, e.g. `porthole_connections{slots="all"}`. */
export function metric(relay: Relay, name: string): number {
  const line = relay.metrics
    .render(relay.registry, [])
    .split('\n')
    .find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no metric ${name}`);
  return Number(line.slice(name.length + 1));
}

/** Waits until the relay holds exactly `count` connections. */
export function relayHolds(relay: Relay, count: number): Promise<true> {
  return waitFor(() => metric(relay, 'porthole_connections{slots="all"}') === count, 10_000, `the relay to hold ${count} connections`);
}
