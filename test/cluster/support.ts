/**
 * Real clusters for the tests: Debian's redis-server on a free loopback port, `node relay --redis` nodes
 * as processes, and HAProxy in TCP mode in front of them (a real L4 balancer). Installs redis-server and
 * haproxy with apt when missing. Every process started here is stopped by PID when the test file exits.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { CONNECT_PATH, FrameType, PROTOCOL_VERSION, decodeFrames, encodeJson } from '../../core/protocol';
import { ensureDebianPackages } from '../debian.cjs';
import { type Child, type RelayProcess, type Reply, freePort, request, run, startRelayProcess, waitFor } from '../helpers';

ensureDebianPackages(['redis-server', 'haproxy']);

export const SECRET = 'test-cluster-secret-0123456789';

/** Sends one command to Redis (any bytes in its arguments) and resolves with its raw reply. */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  const command = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('redis did not answer')));
    socket.on('connect', () => socket.write(command));
    socket.on('data', (d) => {
      reply += d;
      if (reply.endsWith('\r\n')) {
        socket.destroy();
        resolve(reply);
      }
    });
    socket.on('error', reject);
  });
}

export interface RedisServer {
  port: number;
  url: string;
  child: Child;
  /** Stops it; it keeps nothing on disk, so a restart on the same port is empty. */
  stop(): Promise<void>;
}

/** redis-server on `port` (a free one by default), without persistence. */
export async function startRedis(port?: number): Promise<RedisServer> {
  const p = port ?? (await freePort());
  const args = ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  const child = run(args, {}, 'redis-server');
  await waitFor(async () => (await redisCommand(p, 'PING')).startsWith('+PONG'), 10_000, `redis-server on ${p} (${child.err}${child.out})`);
  return { port: p, url: `redis://127.0.0.1:${p}`, child, stop: () => child.stop() };
}

export interface Health {
  ok: boolean;
  node?: string;
  tunnels: number;
  cluster?: { nodes: number; tunnels: number };
}

export async function health(port: number): Promise<Health> {
  return JSON.parse((await request(port, `localhost:${port}`, { path: '/_porthole/health', timeout: 3000 })).body.toString());
}

export interface Node extends RelayProcess {
  /** The port it bound (its relay.listening line says which). */
  port: number;
}

/** `node relay --redis …` on `port` (a free one by default; 0 lets the relay pick); resolves once it is listening, in the cluster. */
export async function startNode(
  redis: RedisServer,
  options: { port?: number; args?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<Node> {
  const port = options.port ?? (await freePort());
  const args = ['--http-port', String(port), '--redis', redis.url, '--cluster-secret', SECRET, '--grace', '30', ...(options.args ?? [])];
  const child = await startRelayProcess(args, options.env);
  const listening = child.log().find((e) => e.event === 'relay.listening');
  return Object.assign(child, { port: Number(listening?.httpPort) });
}

/** `count` nodes on one Redis, each seeing all the others. */
export async function startNodes(redis: RedisServer, count: number, args: string[] = []): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startNode(redis, { args }));
  await waitFor(async () => (await health(nodes[0].port)).cluster?.nodes === count, 15_000, `${count} nodes in the cluster`);
  return nodes;
}

/** The node an agent's tunnel is connected to: the only one counting it. */
export async function holderOf(nodes: Node[], tunnels = 1): Promise<Node> {
  return waitFor(
    async () => {
      const counts = await Promise.all(
        nodes.map((n) =>
          health(n.port).then(
            (h) => h.tunnels,
            () => 0,
          ),
        ),
      );
      const holding = nodes.filter((_, i) => counts[i] >= tunnels);
      return holding.length === 1 ? holding[0] : undefined;
    },
    10_000,
    'one node holding the tunnel',
  );
}

/** A request for `<name>.localhost` through the node on `port`. */
export function via(port: number, name: string, options: Parameters<typeof request>[2] = {}): Promise<Reply> {
  return request(port, `${name}.localhost:${port}`, options);
}

export interface Balancer {
  port: number;
  child: Child;
  stop(): Promise<void>;
}

/** HAProxy in TCP mode on `port` (a free one by default), round robin over the nodes, checking them every 300 ms. */
export async function startHaproxy(ports: number[], port?: number): Promise<Balancer> {
  port ??= await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-haproxy-'));
  const config = path.join(dir, 'haproxy.cfg');
  const servers = ports.map((p, i) => `  server node${i} 127.0.0.1:${p} check inter 300 fall 1 rise 1`).join('\n');
  fs.writeFileSync(
    config,
    `global\n  maxconn 2000\ndefaults\n  mode tcp\n  retries 3\n  option redispatch\n  timeout connect 2s\n  timeout client 120s\n  timeout server 120s\n` +
      `frontend visitors\n  bind 127.0.0.1:${port}\n  default_backend relays\nbackend relays\n  balance roundrobin\n${servers}\n`,
  );
  const child = run(['-db', '-f', config], {}, 'haproxy');
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    10_000,
    `haproxy on ${port} (${child.err})`,
  );
  return {
    port,
    child,
    stop: async () => {
      await child.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a relay answered a hand-made HELLO with, and the connection, still open on WELCOME. */
export interface Greeting {
  type: 'welcome' | 'refuse' | 'closed';
  body: Record<string, string | number>;
  ws: WebSocket;
}

/** A bare agent: says HELLO for `subdomain` with `resume` and reports the relay's answer. */
export async function hello(port: number, subdomain: string, resume: string): Promise<Greeting> {
  const ws = new WebSocket(`ws://localhost:${port}${CONNECT_PATH}`, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(encodeJson(FrameType.Hello, 0, { protocol: PROTOCOL_VERSION, agent: 'test', subdomain, resume })));
    ws.once('message', (data: Buffer) => {
      const [frame] = decodeFrames(data);
      resolve({ type: frame.type === FrameType.Welcome ? 'welcome' : 'refuse', body: JSON.parse(frame.payload.toString()), ws });
    });
    ws.once('close', (code, reason) => resolve({ type: 'closed', body: { code, reason: reason.toString() }, ws }));
  });
}
