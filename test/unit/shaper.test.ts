/**
 * The page-load benchmark's link shaper, over real loopback sockets: it never delivers early or
 * faster than its rate (strict bounds), and not later or slower either beyond a small slack plus the
 * time this process could not run at all (a loaded machine delays every timer; a shaper that adds
 * a round trip too many or loses its rate is late beyond that).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startShaper, type Shaper } from '../bench/page/shaper';
import { disposeAfterEach, stalls } from '../helpers';

const it = suite('link shaper');
const later = disposeAfterEach(it);
/** Timers and the clock both count whole milliseconds somewhere along the way. */
const CLOCK_SLACK_MS = 2;
const LATE_MS = 50;

/** A server on a free loopback port; `onConnection` decides what it does with each connection. */
async function server(onConnection: (socket: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  later(srv, (s) => {
    for (const socket of sockets) socket.destroy();
    s.close();
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise((resolve) => srv.close(resolve)) };
}

async function shaped(port: number, rttMs: number, mbit: number): Promise<Shaper> {
  return later(await startShaper({ target: { host: '127.0.0.1', port }, rttMs, bitsPerSecond: mbit * 1e6 }), (s) => s.close());
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = later(
      net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => resolve(socket)),
      (s) => s.destroy(),
    );
    socket.once('error', reject);
  });
}

/** Writes `message` and resolves with the milliseconds until `bytes` bytes have come back. */
function exchange(socket: net.Socket, message: Buffer, bytes: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received < bytes) return;
      socket.off('data', onData);
      resolve(performance.now() - started);
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(message);
  });
}

/** Reads a socket to its end; resolves with the byte count and the milliseconds taken from `started`. */
function drain(socket: net.Socket, started: number): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    socket.once('end', () => resolve({ bytes, ms: performance.now() - started }));
    socket.once('error', reject);
  });
}

it('adds the round trip to each exchange, and one more for the handshake of a new connection', async () => {
  const echo = await server((socket) => socket.pipe(socket));
  const shaper = await shaped(echo.port, 100, 1000);
  const stalled = stalls();
  const socket = await connect(shaper.port);
  const first = await exchange(socket, Buffer.from('ping'), 4);
  const second = await exchange(socket, Buffer.from('pong'), 4);
  socket.destroy();
  const late = LATE_MS + stalled.stop();
  assert.ok(first >= 200 - CLOCK_SLACK_MS, `handshake + round trip took ${first.toFixed(1)} ms, expected 200`);
  assert.ok(first <= 200 + late, `handshake + round trip took ${first.toFixed(1)} ms, expected 200 (+${late.toFixed(0)} allowed)`);
  assert.ok(second >= 100 - CLOCK_SLACK_MS, `a round trip took ${second.toFixed(1)} ms, expected 100`);
  assert.ok(second <= 100 + late, `a round trip took ${second.toFixed(1)} ms, expected 100 (+${late.toFixed(0)} allowed)`);
});

it('caps the rate, and connections share it as they would share one link', async () => {
  const bytes = 250_000;
  const source = await server((socket) => socket.end(Buffer.alloc(bytes, 7)));
  const shaper = await shaped(source.port, 0, 8); // 1 MB/s
  const stalled = stalls();
  const started = performance.now();
  const [a, b] = await Promise.all([connect(shaper.port), connect(shaper.port)]);
  const [ra, rb] = await Promise.all([drain(a, started), drain(b, started)]);
  const stalledMs = stalled.stop();
  assert.is(ra.bytes + rb.bytes, 2 * bytes);
  const ms = Math.max(ra.ms, rb.ms);
  const bitsPerSecond = (2 * bytes * 8) / (ms / 1000);
  assert.ok(
    bitsPerSecond <= 8e6 * 1.01,
    `both connections together moved ${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s through an 8 Mbit/s link`,
  );
  // At the rate, 500 ms; at 0.6 of it, 833 ms: allowed, plus what the process lost to stalls.
  const slowestMs = ((2 * bytes * 8) / (8e6 * 0.6)) * 1000 + stalledMs;
  assert.ok(
    ms <= slowestMs,
    `only ${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s through an 8 Mbit/s link (${ms.toFixed(0)} ms, stalled ${stalledMs.toFixed(0)} ms)`,
  );
});

it('counts the bytes each way and the connections, and carries a half-close behind the data', async () => {
  const upper = await server((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => socket.end(Buffer.concat(chunks).toString().toUpperCase()));
  });
  const shaper = await shaped(upper.port, 20, 100);
  const socket = await connect(shaper.port);
  const reply = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk;
    });
    socket.on('end', () => resolve(text));
  });
  socket.end('hello, link');
  assert.is(await reply, 'HELLO, LINK');
  const { up, down, connections, lateness } = shaper.counters();
  assert.equal({ up, down, connections }, { up: 11, down: 11, connections: 1 });
  // Pieces: SYN, SYN-ACK, one piece and a FIN each way.
  assert.is(lateness.pieces, 6);
  assert.ok(lateness.meanMs >= 0 && lateness.maxMs >= lateness.meanMs, `lateness ${JSON.stringify(lateness)}`);
});

it('a refused target closes the client, after the round trip a real link would take', async () => {
  const gone = await server(() => undefined);
  await gone.close();
  const shaper = await shaped(gone.port, 60, 100);
  const stalled = stalls();
  const started = performance.now();
  const socket = await connect(shaper.port);
  await new Promise((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
  });
  socket.destroy();
  const ms = performance.now() - started;
  const late = LATE_MS + stalled.stop();
  assert.ok(ms >= 60 - CLOCK_SLACK_MS && ms <= 60 + late, `closed after ${ms.toFixed(1)} ms, expected 60 (+${late.toFixed(0)} allowed)`);
});

it.run();
