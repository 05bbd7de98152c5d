/**
 * A network link in user space, for benchmarks on a machine whose kernel has no netem: a TCP proxy
 * whose two directions each behave like one direction of a real link. Bytes wait for the link to be
 * free, take size / rate to go out (serialisation), then the one-way delay to arrive (propagation):
 * a rate limit like a token bucket whose bucket holds one piece, so that nothing bursts past the rate.
 * Each direction is one link shared by every connection through the shaper, as a person's access link
 * is: six HTTP/1.1 connections share 50 Mbit/s, they do not get 50 each.
 *
 * A new connection pays its TCP handshake: the client's first bytes leave only one round trip after
 * it connected, and the target is connected when the SYN would have arrived (so a refused target is
 * seen one round trip late, as over a real link).
 *
 * What it does not model: both ends of each connection see loopback, so TCP's slow start and loss
 * recovery happen at loopback speed. Instead each connection keeps at most one bandwidth-delay
 * product (`windowBytes`) queued on the link, like a TCP window that has opened fully, and the
 * shaper reads no more from that side until some of it has arrived.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LinkSettings {
  /** One-way delay, milliseconds (half the round-trip time). */
  delayMs: number;
  /** Link rate, bits per second. */
  bitsPerSecond: number;
}

/** Largest piece the link sends as a whole: 2.6 ms at 50 Mbit/s, so a big read cannot hold the link in one block. */
export const PIECE_BYTES = 16 * 1024;

/** One direction of a link: a FIFO of pieces, each due when it has been serialised and has propagated. */
export class Link {
  private freeAt = 0;
  private readonly queue: { due: number; deliver: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** How late pieces arrived against their due time: the shaper's own error (a busy event loop, timer granularity). */
  readonly lateness = { pieces: 0, totalMs: 0, maxMs: 0, over10ms: 0 };

  constructor(readonly settings: LinkSettings) {}

  /** Queues `bytes` on the link; `deliver` runs when they have arrived at the far end. Zero bytes (SYN, FIN) only propagate. */
  send(bytes: number, deliver: () => void): void {
    const start = Math.max(performance.now(), this.freeAt);
    this.freeAt = start + (bytes * 8 * 1000) / this.settings.bitsPerSecond;
    this.queue.push({ due: this.freeAt + this.settings.delayMs, deliver });
    if (this.timer === undefined) this.schedule();
  }

  /** Drops everything queued (the shaper is closing). */
  clear(): void {
    this.queue.length = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const head = this.queue[0];
    if (head === undefined) return;
    // Timers count whole milliseconds from the event loop's cached clock and may fire a little early:
    // flush() then finds the head not yet due and waits again, so nothing ever arrives early.
    this.timer = setTimeout(this.flush, Math.max(1, Math.ceil(head.due - performance.now())));
  }

  private readonly flush = (): void => {
    this.timer = undefined;
    const now = performance.now();
    let delivered = 0;
    while (delivered < this.queue.length && this.queue[delivered].due <= now) delivered++;
    for (const { due, deliver } of this.queue.splice(0, delivered)) {
      const late = now - due;
      this.lateness.pieces++;
      this.lateness.totalMs += late;
      this.lateness.maxMs = Math.max(this.lateness.maxMs, late);
      if (late > 10) this.lateness.over10ms++;
      deliver();
    }
    if (this.timer === undefined) this.schedule();
  };
}

export interface ShaperOptions {
  /** Where connections go. */
  target: { host: string; port: number };
  /** Round-trip time of the link, milliseconds; each direction gets half. */
  rttMs: number;
  /** Rate of each direction, bits per second. */
  bitsPerSecond: number;
  /** Address to listen on (default 127.0.0.1) and port (default 0: a free one). */
  host?: string;
  port?: number;
}

/** What has crossed the link so far: bytes as the ends wrote them (TLS records included, TCP/IP headers not). */
export interface Counters {
  /** Client to target. */
  up: number;
  /** Target to client. */
  down: number;
  connections: number;
  /** Delay beyond the link's own, over both directions: pieces counted, mean and largest (ms), pieces more than 10 ms late. */
  lateness: { pieces: number; meanMs: number; maxMs: number; over10ms: number };
}

export interface Shaper {
  port: number;
  windowBytes: number;
  counters(): Counters;
  close(): Promise<void>;
}

export async function startShaper(options: ShaperOptions): Promise<Shaper> {
  const settings = { delayMs: options.rttMs / 2, bitsPerSecond: options.bitsPerSecond };
  const uplink = new Link(settings);
  const downlink = new Link(settings);
  const windowBytes = Math.max(64 * 1024, Math.round((options.bitsPerSecond / 8) * (options.rttMs / 1000)));
  const counters = { up: 0, down: 0, connections: 0 };
  const sockets = new Set<net.Socket>();

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    counters.connections++;
    track(client);
    client.pause();
    let upstream: net.Socket | undefined;
    const fail = () => {
      client.destroy();
      upstream?.destroy();
    };
    client.on('error', fail);
    // SYN up, then SYN-ACK down: only then may the client's bytes take the link.
    uplink.send(0, () => {
      if (client.destroyed) return;
      const socket = net.connect({ ...options.target, allowHalfOpen: true, noDelay: true });
      upstream = socket;
      track(socket);
      socket.on('error', () => downlink.send(0, fail));
      socket.once('connect', () =>
        downlink.send(0, () => {
          carry(client, socket, uplink, windowBytes, (n) => {
            counters.up += n;
          });
          carry(socket, client, downlink, windowBytes, (n) => {
            counters.down += n;
          });
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    windowBytes,
    counters: () => {
      const [up, down] = [uplink.lateness, downlink.lateness];
      const pieces = up.pieces + down.pieces;
      const lateness = {
        pieces,
        meanMs: pieces === 0 ? 0 : (up.totalMs + down.totalMs) / pieces,
        maxMs: Math.max(up.maxMs, down.maxMs),
        over10ms: up.over10ms + down.over10ms,
      };
      return { ...counters, lateness };
    },
    close: () =>
      new Promise<void>((resolve) => {
        uplink.clear();
        downlink.clear();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Moves bytes from one socket to the other over `link`, keeping at most `windowBytes` of this connection on it. */
function carry(from: net.Socket, to: net.Socket, link: Link, windowBytes: number, count: (bytes: number) => void): void {
  let onLink = 0;
  const adjust = () => {
    if (from.destroyed) return;
    if (onLink >= windowBytes || to.writableNeedDrain) from.pause();
    else from.resume();
  };
  from.on('data', (chunk: Buffer) => {
    for (let offset = 0; offset < chunk.length; offset += PIECE_BYTES) {
      const piece = chunk.subarray(offset, offset + PIECE_BYTES);
      onLink += piece.length;
      link.send(piece.length, () => {
        onLink -= piece.length;
        count(piece.length);
        if (!to.destroyed) to.write(piece);
        adjust();
      });
    }
    adjust();
  });
  to.on('drain', adjust);
  // The FIN travels behind the data.
  from.once('end', () =>
    link.send(0, () => {
      if (!to.destroyed) to.end();
    }),
  );
  adjust();
}
