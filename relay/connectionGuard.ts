/**
 * Puts the connection limits (connectionLimits.ts) in front of the relay's listeners. Every accepted
 * socket is counted or refused before the HTTP or TLS server sees it, so a refused connection costs
 * no parsing, no TLS handshake and no request.
 *
 * What a refused client sees: on plain HTTP, a short 429 (its address holds too many connections) or
 * 503 (the relay is full) page, written at once without reading the request, and the connection
 * closed. The page is prepared once, so refusing costs one write. On HTTPS the connection is closed
 * without a word: answering would take a TLS handshake, the very work a flood wants the relay to do.
 */
import type net from 'node:net';
import type { Log } from './log.js';
import type { ConnectionRefusal, Metrics } from './metrics.js';
import { LogThrottle } from './logThrottle.js';
import { rawPage } from './pages.js';
import { type ConnectionLimits, type RefusalReason, type Slot, descriptorLimit } from './connectionLimits.js';

/** How long a refused HTTP connection may stay to read its answer and close by itself. */
const LINGER_MS = 2_000;
/** Refusals are logged at most once per address in this time. */
const LOG_WINDOW_MS = 60_000;
/** Addresses remembered for that; beyond them, refusals are logged together, once per window. */
const LOGGED_ADDRESSES = 1_000;
const RETRY_AFTER_SECONDS = '10';

export const RELAY_FULL_TITLE = 'Relay at capacity';
export const RELAY_FULL_MESSAGE = 'This relay has as many connections open as it allows. Try again in a few seconds.';

export class ConnectionGuard {
  /** Each open connection's slot by its socket: the TCP one and, on TLS, the TLS one too. */
  private readonly slots = new WeakMap<object, Slot>();
  /** Reserve slots by peer, for sockets the map above has never seen (HTTP/2 hands out proxies). */
  private readonly reservedByPeer = new Map<string, Slot>();
  /** One listener for every socket's 'close': a closure per connection would cost memory per connection. */
  private readonly onClose: (this: net.Socket) => void;
  private readonly refusalPages: Record<RefusalReason, Buffer>;
  private readonly refusalLog: RefusalLog;
  /** Refused sockets still open while their page is read; bounded, they hold descriptors too. */
  private lingering = 0;
  private readonly maxLingering: number;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly metrics: Metrics,
    private readonly log: Log,
  ) {
    const guard = this;
    this.onClose = function (this: net.Socket) {
      const slot = guard.slots.get(this);
      if (slot) guard.limits.release(slot);
    };
    const { maxPerAddress, maxConnections } = limits.options;
    this.maxLingering = Math.max(8, Math.ceil(maxConnections / 20));
    this.refusalLog = new RefusalLog(log);
    const retry = { 'retry-after': RETRY_AFTER_SECONDS };
    this.refusalPages = {
      address: Buffer.from(
        rawPage(
          429,
          'Too Many Requests',
          'Too many connections',
          `This relay allows ${maxPerAddress} connections at a time from one address, and yours has them all open. Close some, or try again in a few seconds.`,
          retry,
        ),
      ),
      full: Buffer.from(rawPage(503, 'Service Unavailable', RELAY_FULL_TITLE, RELAY_FULL_MESSAGE, retry)),
    };
  }

  /**
   * Counts `server`'s connections and refuses those over a limit before its own handling runs.
   * Node's HTTP, HTTPS and HTTP/2 servers take connections in a 'connection' listener; this one
   * runs first and hands admitted sockets on to them. On TLS it also counts stalled handshakes.
   */
  guard(server: net.Server, tls: boolean): void {
    // TLS: the TCP socket's slot by its peer, until the handshake is done and its TLS socket known.
    const handshaking = new Map<string, Slot>();
    if (tls) {
      server.on('secureConnection', (secure: net.Socket) => {
        const key = peerKey(secure);
        const slot = handshaking.get(key);
        if (!slot) return;
        handshaking.delete(key);
        this.slots.set(secure, slot);
      });
      server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: net.Socket) => {
        if (error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') this.metrics.connectionTimedOut('tls_handshake');
        socket.destroy();
      });
    }
    const handlers = server.listeners('connection') as ((socket: net.Socket) => void)[];
    if (handlers.length === 0)
      throw new Error("This Node's server takes connections without a 'connection' listener: connection limits cannot apply.");
    server.removeAllListeners('connection');
    server.on('connection', (socket: net.Socket) => {
      const remote = socket.remoteAddress;
      if (remote === undefined) return void socket.destroy(); // the peer is already gone
      const admission = this.limits.admit(remote);
      if (!admission.ok) return this.refuse(socket, admission.reason, admission.address, tls);
      const { slot } = admission;
      this.slots.set(socket, slot);
      socket.on('close', this.onClose);
      if (slot.reserved) this.rememberReserved(socket, slot);
      if (tls) {
        const key = peerKey(socket);
        handshaking.set(key, slot);
        socket.once('close', () => handshaking.get(key) === slot && handshaking.delete(key));
      }
      for (const handler of handlers) handler.call(server, socket);
    });
  }

  /**
   * Whether a request for a tunnel may go on this connection. False only for a connection taken
   * into the reserve while visitors had no room, and they still have none: answer 503 and close.
   */
  mayReachTunnel(socket: net.Socket): boolean {
    if (this.limits.reserved === 0) return true;
    const key = peerKey(socket);
    const slot = this.slots.get(socket) ?? this.reservedByPeer.get(key);
    if (!slot?.reserved) return true;
    if (this.limits.promote(slot)) {
      this.reservedByPeer.delete(key);
      return true;
    }
    this.metrics.connectionRefused('reserve');
    this.refusalLog.refused(slot.address, 'reserve', this.limits.heldBy(slot.address));
    return false;
  }

  /** An agent registered on this connection: its token's limits bound it from now on, not its address's. */
  agentRegistered(socket: net.Socket): void {
    const slot = this.slots.get(socket);
    if (slot) this.limits.exempt(slot);
  }

  /** Warns when --max-connections is more than the process may open files: the cap would never be reached. */
  checkDescriptorLimit(openFiles = descriptorLimit()): void {
    const { maxConnections } = this.limits.options;
    if (openFiles === undefined || maxConnections <= openFiles) return;
    this.log('relay.descriptor-limit', {
      maxConnections,
      openFiles,
      hint: 'connections would fail before the cap is reached: raise LimitNOFILE (ulimit -n) or lower --max-connections',
    });
  }

  private rememberReserved(socket: net.Socket, slot: Slot): void {
    const key = peerKey(socket);
    this.reservedByPeer.set(key, slot);
    socket.once('close', () => this.reservedByPeer.get(key) === slot && this.reservedByPeer.delete(key));
  }

  private refuse(socket: net.Socket, reason: RefusalReason, address: string, tls: boolean): void {
    this.metrics.connectionRefused(reason);
    this.refusalLog.refused(address, reason, this.limits.heldBy(address));
    // A refused peer resetting or vanishing is expected; nothing is lost with it.
    socket.on('error', () => socket.destroy());
    if (tls || this.lingering >= this.maxLingering) return void socket.destroy();
    // Closing with the request unread would reset the connection, and the client could lose the
    // page: so end our side, read and drop what comes, and go when the client closes (or soon after).
    this.lingering++;
    socket.once('close', () => this.lingering--);
    socket.setTimeout(LINGER_MS, () => socket.destroy());
    socket.end(this.refusalPages[reason]);
    socket.resume();
  }
}

/** One line per address per minute, however many connections it gets refused. */
export class RefusalLog {
  private readonly throttle: LogThrottle;

  constructor(
    private readonly log: Log,
    now = Date.now,
  ) {
    this.throttle = new LogThrottle(LOG_WINDOW_MS, LOGGED_ADDRESSES, now);
  }

  refused(address: string, reason: ConnectionRefusal, held: number): void {
    const line = this.throttle.due(address);
    if (!line) return;
    if (line.others)
      this.log('connection.refused', { address: `others (over ${LOGGED_ADDRESSES} addresses)`, reason, refused: line.count });
    else this.log('connection.refused', { address, reason, held, refused: line.count });
  }
}

/** A connection's peer as its TCP, TLS and HTTP/2 sockets all report it (port first: cheap to tell apart). */
function peerKey(socket: net.Socket): string {
  return `${socket.remotePort} ${socket.remoteAddress} ${socket.localPort}`;
}
