/** Shared test fixtures: a real local origin server, a real relay and agents, all on loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { suite, type Test } from 'uvu';
import WebSocket, { WebSocketServer } from 'ws';
import { startRelay, type Relay } from '../relay/server';
import type { RelayConfig } from '../relay/config';
import type { Clock } from '../core/clock';
import { Agent, type AgentOptions } from '../extension/agent/agent';
import type { RequestRecord } from '../extension/agent/requestRecord';

import { jsonLines } from './jsonLines.cjs';
import { waitFor, withTimeout } from './wait.cjs';

export { jsonLines, waitFor, withTimeout };
export { harProblems } from './har.cjs';

export const root = path.join(__dirname, '..');
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Milliseconds this process could not run its timers (load, GC, being descheduled) between the call
 * and `stop()`, sampled every 10 ms: every timer in it, an in-process relay's too, was held up as long.
 * A test that bounds how late something may happen allows this much more, so load cannot fail it.
 */
export function stalls(): { stop(): number } {
  const sampleMs = 10;
  let last = performance.now();
  let stalled = 0;
  const sample = () => {
    const now = performance.now();
    stalled += Math.max(0, now - last - sampleMs);
    last = now;
  };
  // Unref'd: a test that fails before stop() leaves nothing that keeps the process alive.
  const timer = setInterval(sample, sampleMs).unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return stalled;
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The child's exit code, or 'timeout' if it is still running after `ms` (the timer never outlives the wait). */
export async function exitWithin(child: Child, ms: number): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([child.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface Origin {
  port: number;
  seen: http.IncomingHttpHeaders[];
  /** Open /sse/held?id=… responses by id: the test writes each event after the first (stepEvents). */
  heldEvents: Map<string, http.ServerResponse>;
  close(): Promise<void>;
}

/** The "local dev server": a plain Node server with the routes the tests need. */
export async function startOrigin(): Promise<Origin> {
  const seen: http.IncomingHttpHeaders[] = [];
  const heldEvents = new Map<string, http.ServerResponse>();
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const url = new URL(req.url ?? '/', 'http://origin');
    const n = Number(url.searchParams.get('n') ?? 0);
    switch (url.pathname) {
      case '/hello':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 18 });
        return res.end(req.method === 'HEAD' ? undefined : 'hello from origin\n');
      case '/headers':
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify(req.headers));
      case '/cookies':
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/', 'c=3; HttpOnly']);
        return res.end('ok');
      case '/nocontent':
        res.writeHead(204);
        return res.end();
      case '/etag':
        if (req.headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"' });
          return res.end();
        }
        res.writeHead(200, { etag: '"v1"', 'content-type': 'text/plain' });
        return res.end('versioned body');
      case '/bytes':
        return sendBytes(res, n);
      case '/chunked':
        res.write('first,');
        return setTimeout(() => res.end('second'), 20);
      case '/echo':
        res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
        return void req.pipe(res);
      case '/sha': {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (d: Buffer) => {
          bytes += d.length;
          hash.update(d);
        });
        return void req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
      }
      case '/sse': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let i = 0;
        const timer = setInterval(() => {
          res.write(`data: tick ${i}\n\n`);
          if (++i === 5) {
            clearInterval(timer);
            res.end();
          }
        }, 200);
        return void req.on('close', () => clearInterval(timer));
      }
      case '/sse/held': {
        // One event now; the next ones when the test writes them (stepEvents).
        const id = url.searchParams.get('id') ?? '';
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('data: tick 0\n\n');
        heldEvents.set(id, res);
        return void req.on('close', () => heldEvents.get(id) === res && heldEvents.delete(id));
      }
      case '/slow':
        return void setTimeout(() => res.end('slow done'), n || 500);
      default:
        res.writeHead(404);
        return res.end('origin: no such path');
    }
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const port = await new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
  return { port, seen, heldEvents, close: () => closeServer(server, wss) };
}

/**
 * Drives the origin's /sse/held?id=`id` response: event n+1 is sent only once the client has event
 * n (`received()`: what it has so far), then the response ends. It passes only if every hop passes
 * each event on as it comes, however fast or slow the machine; one that holds events back stalls it.
 */
export async function stepEvents(origin: Origin, id: string, received: () => string, count = 5): Promise<void> {
  for (let n = 0; n < count; n++) {
    await waitFor(() => received().includes(`data: tick ${n}\n\n`), 15_000, `event ${n} while the stream is still open`);
    const response = await waitFor(() => origin.heldEvents.get(id), 15_000, `the held event stream "${id}"`);
    if (n + 1 < count) response.write(`data: tick ${n + 1}\n\n`);
    else response.end();
  }
}

/** Stops a test server and its WebSocket server, ending every connection they still hold. */
export async function closeServer(server: http.Server, wss: WebSocketServer): Promise<void> {
  for (const client of wss.clients) client.terminate();
  wss.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Streams `total` bytes of a repeating pattern, honouring back-pressure. */
function sendBytes(res: http.ServerResponse, total: number): void {
  const chunk = Buffer.alloc(64 * 1024, 'porthole-');
  let left = total;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  const pump = () => {
    while (left > 0) {
      const size = Math.min(left, chunk.length);
      left -= size;
      if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

export const quietLog = () => undefined;

/** An in-process relay on a free port with the embedded defaults, quiet; on `clock`'s time when given (test/clock.ts). */
export function relay(options: Partial<RelayConfig> = {}, clock?: Clock): Promise<Relay> {
  return startRelay({ config: { httpPort: 0, ...options }, log: quietLog, clock });
}

/** A live agent sharing `port` through `relay`. */
export async function agent(relayUrl: string, port: number, options: Partial<AgentOptions> = {}): Promise<Agent & { host: string }> {
  const shared = new Agent({ target: String(port), relay: relayUrl, ...options });
  const url = await shared.start();
  return Object.assign(shared, { host: new URL(url).host });
}

/** Disposes of something a test started; `later` registers one. */
export type Later = <T>(value: T, dispose: (value: T) => unknown) => T;

/**
 * Disposal after each test of `it`, passed or failed: `later(thing, dispose)` returns `thing` and
 * disposes of it once the test is over, the most recent first. A failing assert then never leaves a
 * relay, server, agent or process running, which would keep the whole stage from exiting.
 */
export function disposeAfterEach<T>(it: Test<T>): Later {
  const disposals: (() => unknown)[] = [];
  it.after.each(async () => {
    for (const dispose of disposals.splice(0).reverse()) {
      try {
        await dispose();
      } catch (error) {
        console.error(`    cleaning up after the test failed: ${(error as Error).message}`);
      }
    }
  });
  return (value, dispose) => {
    disposals.push(() => dispose(value));
    return value;
  };
}

/** A uvu suite whose tests share one origin server; `later` disposes of what a test starts (disposeAfterEach). */
export function originSuite(title: string) {
  const ctx = {} as { origin: Origin };
  const it = suite(title, ctx);
  it.before(async () => {
    ctx.origin = await startOrigin();
  });
  it.after(async () => {
    await ctx.origin?.close();
  });
  return { it, ctx, later: disposeAfterEach(it) };
}

export interface SharedTunnel {
  origin: Origin;
  relay: Relay;
  agent: Agent & { host: string };
}

/** A uvu suite whose tests share one origin, relay and agent sharing it as `subdomain`. */
export function tunnelSuite(title: string, subdomain: string) {
  const ctx = {} as SharedTunnel;
  const it = suite(title, ctx);
  it.before(async () => {
    ctx.origin = await startOrigin();
    ctx.relay = await relay();
    ctx.agent = await agent(ctx.relay.url, ctx.origin.port, { subdomain });
  });
  // Whatever the before hook got to start, however far it got.
  it.after(async () => {
    await ctx.agent?.stop();
    await ctx.relay?.close(0);
    await ctx.origin?.close();
  });
  return { it, ctx, later: disposeAfterEach(it) };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** A request to the relay at 127.0.0.1:`port` with an explicit Host, collecting the whole answer. */
export function request(
  port: number,
  host: string,
  options: {
    path?: string;
    method?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: Buffer | string;
    timeout?: number;
    /** The client address, another loopback one (127.0.0.2…) to look like another visitor. */
    localAddress?: string;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        headers: { host, ...options.headers },
        agent: false,
        localAddress: options.localAddress,
        timeout: options.timeout ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Writes `head` (latin1, or bytes as they are) to the relay at 127.0.0.1:`port` and collects everything until the socket closes. */
export function rawRequest(port: number, head: string | Buffer, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(String(head))}`)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(Buffer.concat(chunks)) : reject(error)));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.write(typeof head === 'string' ? Buffer.from(head, 'latin1') : head);
  });
}

/** Resolves once the peer has handled everything sent on `ws` before (its pong follows it), or the connection is gone; 5 s at most. */
export function handledByPeer(ws: WebSocket): Promise<void> {
  if (ws.readyState !== WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, 5000);
    ws.once('pong', done);
    ws.once('close', done);
    ws.ping();
  });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface Child {
  process: ChildProcess;
  out: string;
  err: string;
  exited: Promise<number | null>;
  /** JSON lines printed so far (the CLI's --json output). */
  events(): Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Every child process a test file started and that has not exited: killed when the file's process exits. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Runs a built entry point (dist/relay.js, dist/cli.js) as a real process, or another program with
 * `command`. It is killed when the test process exits, if nothing stopped it before.
 */
export function run(args: string[], env: NodeJS.ProcessEnv = {}, command = process.execPath): Child {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const handle: Child = {
    process: child,
    out: '',
    err: '',
    exited: new Promise((resolve) =>
      child.on('exit', (code) => {
        children.delete(child);
        resolve(code);
      }),
    ),
    events: () => jsonLines(handle.out),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await handle.exited;
      clearTimeout(timer);
    },
  };
  child.stdout?.on('data', (d) => {
    handle.out += d;
  });
  child.stderr?.on('data', (d) => {
    handle.err += d;
  });
  return handle;
}

export type RelayLogLine = { time: string; event: string; [field: string]: unknown };
export type RelayProcess = Child & { log(): RelayLogLine[] };

/**
 * `node relay --log-format json …args` as a real process; resolves once it logged relay.listening
 * (which on TLS comes after its start-up certificate), or fails with what it printed.
 */
export async function startRelayProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RelayProcess> {
  const child = run(['relay', ...args, '--log-format', 'json'], env);
  const log = () => jsonLines<RelayLogLine>(child.err);
  try {
    await waitFor(
      () => {
        if (child.process.exitCode !== null) throw new Error(`the relay exited ${child.process.exitCode}`);
        return log().some((e) => e.event === 'relay.listening');
      },
      30_000,
      'the relay to listen',
    );
  } catch (error) {
    await child.stop('SIGKILL');
    throw new Error(`${(error as Error).message}: ${child.err.slice(-1500)}`);
  }
  return Object.assign(child, { log });
}

/** `porthole share` as a real process; resolves once it printed its ready event. */
export async function share(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Child & { url: string }> {
  const child = run([path.join(root, 'dist/cli.js'), 'share', ...args, '--json'], env);
  const url = await waitFor(
    () => {
      const ready = child.events().find((e) => e.event === 'ready');
      if (ready) return ready.url as string;
      if (child.process.exitCode !== null) throw new Error(`porthole share exited ${child.process.exitCode}: ${child.err}`);
      return undefined;
    },
    15_000,
    'the ready event',
  );
  return Object.assign(child, { url });
}

/**
 * A finished request record as the agent reports one; override what a test is about. The local
 * server's side of the headers is the visitor's unless given (no mapping, as in preserve mode).
 */
export function requestRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
  const requestHeaders = overrides.requestHeaders ?? ['Host', 'localhost:5173', 'Accept', '*/*'];
  const responseHeaders = overrides.responseHeaders ?? ['Content-Type', 'text/plain'];
  return {
    id: 1,
    method: 'GET',
    path: '/',
    startedAt: Date.UTC(2025, 0, 2, 3, 4, 5, 6),
    durationMs: 12.4,
    status: 200,
    upgrade: false,
    requestHeaders,
    localRequestHeaders: requestHeaders,
    responseHeaders,
    visitorResponseHeaders: responseHeaders,
    requestBytes: 0,
    responseBytes: 5,
    requestBody: Buffer.alloc(0),
    responseBody: Buffer.from('hello'),
    requestBodyTruncated: false,
    responseBodyTruncated: false,
    ...overrides,
  };
}
