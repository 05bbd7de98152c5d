/**
 * One agent connection seen from either end: a WebSocket carrying many flow-controlled streams.
 * The relay and the agent both wrap their WebSocket in a Tunnel; only the relay opens streams.
 */
import type { Readable, Writable } from 'node:stream';
import type WebSocket from 'ws';
import {
  CloseCode, FrameType, INITIAL_WINDOW, MAX_FRAME_PAYLOAD, ProtocolError,
  checkRequestHead, checkResponseHead, decodeFrames, decodeJson, decodeWindow, encodeFrame, encodeJson, encodeWindow,
  type Frame, type RequestHead, type Reset, type ResetCode, type ResponseHead,
} from './protocol.js';

/** Frames queued in one turn of the event loop are sent together, up to this many bytes a message. */
const BATCH_BYTES = 64 * 1024;
/** Credit is returned once this much of the window has been consumed, not per chunk. */
const WINDOW_UPDATE_THRESHOLD = INITIAL_WINDOW / 4;

export interface TunnelHandlers {
  /** A stream-0 frame (HELLO, WELCOME, REFUSE, GOAWAY). */
  control(frame: Frame): void;
  /** A new stream from the relay (agent side only). */
  open?(stream: TunnelStream, head: RequestHead): void;
  /** The WebSocket closed, for whatever reason; every stream has been reset. */
  closed(code: number, reason: string): void;
}

export class Tunnel {
  readonly streams = new Map<number, TunnelStream>();
  private nextStreamId = 1;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  private heartbeat?: NodeJS.Timeout;
  private heardFrom = true;
  private closed = false;
  /** Why this side closed, when it did: a terminated socket reports only 1006. */
  private closedHere?: { code: number; reason: string };

  constructor(readonly ws: WebSocket, private readonly handlers: TunnelHandlers, readonly label = 'tunnel') {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    ws.on('pong', () => { this.heardFrom = true; });
    ws.on('ping', () => { this.heardFrom = true; });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    ws.on('error', () => { /* 'close' follows and carries the outcome */ });
    const socket = (ws as unknown as { _socket?: { setNoDelay?(on: boolean): void } })._socket;
    socket?.setNoDelay?.(true);
  }

  /**
   * Pings every `intervalMs`; a peer that sends nothing at all for two intervals is cut off,
   * so dead agents do not linger and NAT boxes see traffic on idle tunnels.
   */
  startHeartbeat(intervalMs: number): void {
    this.heartbeat = setInterval(() => {
      if (!this.heardFrom) {
        this.close(CloseCode.heartbeatTimeout, `no heartbeat for ${Math.round((2 * intervalMs) / 1000)} s`);
        this.ws.terminate();
        return;
      }
      this.heardFrom = false;
      if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
    }, intervalMs);
    this.heartbeat.unref();
  }

  /** Relay side: starts a stream for a public request and sends its head. */
  openStream(head: RequestHead): TunnelStream {
    const stream = new TunnelStream(this, this.nextStreamId);
    this.nextStreamId = this.nextStreamId >= 0x7fffffff ? 1 : this.nextStreamId + 1;
    this.streams.set(stream.id, stream);
    this.send(encodeJson(FrameType.Open, stream.id, head));
    return stream;
  }

  sendControl(type: FrameType, value: unknown): void {
    this.send(encodeJson(type, 0, value));
  }

  /** Queues a frame; everything queued in this turn of the event loop leaves as one message. */
  send(frame: Buffer): void {
    if (this.closed) return;
    this.batch.push(frame);
    this.batchBytes += frame.length;
    if (this.batchBytes >= BATCH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0 || this.ws.readyState !== this.ws.OPEN) return;
    const message = this.batch.length === 1 ? this.batch[0] : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    this.ws.send(message, { binary: true, compress: false });
  }

  /** Closes the WebSocket after sending what is queued. */
  close(code: number = CloseCode.normal, reason = ''): void {
    this.closedHere ??= { code, reason };
    this.flush();
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, reason.slice(0, 120));
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  private receive(data: Buffer, isBinary: boolean): void {
    this.heardFrom = true;
    try {
      if (!isBinary) throw new ProtocolError('text message received; Porthole frames are binary');
      for (const frame of decodeFrames(data)) this.dispatch(frame);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.close(CloseCode.protocolError, `malformed frame: ${error.message}`);
    }
  }

  private dispatch(frame: Frame): void {
    if (frame.stream === 0) return this.handlers.control(frame);
    if (frame.type === FrameType.Open) {
      if (!this.handlers.open) throw new ProtocolError('OPEN is sent by the relay only');
      if (this.streams.has(frame.stream)) throw new ProtocolError(`stream ${frame.stream} is already open`);
      const head = checkRequestHead(decodeJson<RequestHead>(frame, 'OPEN'), frame.stream);
      const stream = new TunnelStream(this, frame.stream);
      this.streams.set(stream.id, stream);
      return this.handlers.open(stream, head);
    }
    // Frames for a stream that has just been reset on this side are expected: drop them quietly.
    this.streams.get(frame.stream)?.receive(frame);
  }

  private onClose(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.batch = [];
    for (const stream of [...this.streams.values()]) stream.abandon({ code: 'cancelled', message: 'the tunnel closed' });
    this.handlers.closed(this.closedHere?.code ?? code, this.closedHere?.reason ?? reason);
  }

  /** Called by a stream once both directions are finished. */
  forget(stream: TunnelStream): void {
    this.streams.delete(stream.id);
  }
}

/**
 * One request/response (or upgraded connection) inside a Tunnel, with credit-based flow control
 * in both directions. Owners set the `on*` callbacks they need.
 */
export class TunnelStream {
  onResponse?: (head: ResponseHead) => void;
  /** Body bytes arrived. Call `consumed(n)` once the consumer has taken them. */
  onData?: (chunk: Buffer) => void;
  onEnd?: () => void;
  onReset?: (reset: Reset) => void;
  /** Credit came back after `write` returned false: the source may resume. */
  onWritable?: () => void;

  /** Body bytes sent and received so far, for logs and metrics. */
  sentBytes = 0;
  receivedBytes = 0;
  private sendCredit = INITIAL_WINDOW;
  private queued: Buffer[] = [];
  private endQueued = false;
  private sentEnd = false;
  private receivedEnd = false;
  private unacknowledged = 0;
  private consumedSinceUpdate = 0;
  private done = false;

  constructor(readonly tunnel: Tunnel, readonly id: number) {}

  get isDone(): boolean {
    return this.done;
  }

  sendResponse(head: ResponseHead): void {
    if (!this.done) this.tunnel.send(encodeJson(FrameType.Response, this.id, head));
  }

  /** Sends body bytes as far as credit allows; returns false when the source should pause. */
  write(chunk: Buffer): boolean {
    if (this.done || this.sentEnd || this.endQueued) return false;
    this.sentBytes += chunk.length;
    if (this.queued.length > 0) this.queued.push(chunk);
    else this.sendWithinCredit(chunk);
    return this.queued.length === 0 && this.sendCredit > 0;
  }

  end(): void {
    if (this.done || this.sentEnd || this.endQueued) return;
    if (this.queued.length > 0) this.endQueued = true;
    else this.sendEnd();
  }

  /** Abandons the stream and tells the peer why. */
  reset(code: ResetCode, message: string): void {
    if (this.done) return;
    this.tunnel.send(encodeJson(FrameType.Reset, this.id, { code, message } satisfies Reset));
    this.finish();
  }

  /** The consumer took `bytes` of what arrived; return credit to the peer in sizeable steps. */
  consumed(bytes: number): void {
    if (this.done || this.receivedEnd) return;
    this.consumedSinceUpdate += bytes;
    if (this.consumedSinceUpdate >= WINDOW_UPDATE_THRESHOLD) {
      this.unacknowledged -= this.consumedSinceUpdate;
      this.tunnel.send(encodeWindow(this.id, this.consumedSinceUpdate));
      this.consumedSinceUpdate = 0;
    }
  }

  receive(frame: Frame): void {
    switch (frame.type) {
      case FrameType.Response:
        this.onResponse?.(checkResponseHead(decodeJson<ResponseHead>(frame, 'RESPONSE'), this.id));
        return;
      case FrameType.Data:
        if (this.receivedEnd) throw new ProtocolError(`DATA after END on stream ${this.id}`);
        this.unacknowledged += frame.payload.length;
        this.receivedBytes += frame.payload.length;
        if (this.unacknowledged > INITIAL_WINDOW) throw new ProtocolError(`stream ${this.id} overran its flow-control window`);
        this.onData?.(frame.payload);
        return;
      case FrameType.End:
        this.receivedEnd = true;
        this.onEnd?.();
        if (this.sentEnd) this.finish();
        return;
      case FrameType.Reset:
        this.abandon(decodeJson<Reset>(frame, 'RESET'));
        return;
      case FrameType.Window:
        this.sendCredit += decodeWindow(frame);
        this.drainQueue();
        return;
      default:
        throw new ProtocolError(`frame type ${frame.type} is not valid on stream ${this.id}`);
    }
  }

  /** The stream ends without telling the peer (it reset, or the tunnel closed). */
  abandon(reset: Reset): void {
    if (this.done) return;
    this.finish();
    this.onReset?.(reset);
  }

  private sendWithinCredit(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && this.sendCredit > 0) {
      const size = Math.min(chunk.length - offset, this.sendCredit, MAX_FRAME_PAYLOAD);
      this.tunnel.send(encodeFrame(FrameType.Data, this.id, chunk.subarray(offset, offset + size)));
      this.sendCredit -= size;
      offset += size;
    }
    if (offset < chunk.length) this.queued.push(offset === 0 ? chunk : chunk.subarray(offset));
  }

  private drainQueue(): void {
    const waiting = this.queued;
    this.queued = [];
    for (let i = 0; i < waiting.length; i++) {
      this.sendWithinCredit(waiting[i]);
      if (this.queued.length > 0) {
        this.queued.push(...waiting.slice(i + 1));
        return;
      }
    }
    if (this.endQueued) this.sendEnd();
    else if (this.sendCredit > 0) this.onWritable?.();
  }

  private sendEnd(): void {
    this.endQueued = false;
    this.sentEnd = true;
    this.tunnel.send(encodeFrame(FrameType.End, this.id));
    if (this.receivedEnd) this.finish();
  }

  private finish(): void {
    this.done = true;
    this.queued = [];
    this.tunnel.forget(this);
  }
}

/** Streams a Node Readable (a request body, a socket) into a tunnel stream, pausing on back-pressure. */
export function pipeReadable(source: Readable, stream: TunnelStream): void {
  stream.onWritable = () => source.resume();
  source.on('data', (chunk: Buffer) => { if (!stream.write(chunk)) source.pause(); });
  source.on('end', () => stream.end());
}

/**
 * Writes what arrives on a tunnel stream into a Node Writable (a response, a socket), and returns
 * credit to the peer only as the writable drains.
 */
export function pipeWritable(stream: TunnelStream, sink: Writable): void {
  let buffered = 0;
  sink.on('drain', () => { const n = buffered; buffered = 0; stream.consumed(n); });
  stream.onData = (chunk) => {
    if (sink.write(chunk) && buffered === 0) stream.consumed(chunk.length);
    else buffered += chunk.length;
  };
  stream.onEnd = () => sink.end();
}

