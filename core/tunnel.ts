/**
 * One agent connection seen from either end: a WebSocket carrying many flow-controlled streams.
 * The relay and the agent both wrap their WebSocket in a Tunnel; only the relay opens streams.
 */
import type WebSocket from 'ws';
import {
  BATCH_BYTES,
  CloseCode,
  FrameType,
  HEADER_BYTES,
  MAX_FRAME_PAYLOAD,
  ProtocolError,
  decodeFrames,
  encodeFrame,
  encodeHeader,
  encodeJson,
  type Frame,
  type RequestHead,
} from './protocol.js';
import { decodeRequestHead, encodeRequestHead } from './heads.js';
import { closePeer } from './close.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import { writeMessages, type Masking, type OutgoingMessage } from './messageWriter.js';
import { type StreamHost, TunnelStream } from './stream.js';

/**
 * Bytes the WebSocket may hold unsent before streams are paused. Per-stream windows bound each
 * stream; this bounds the connection, whatever the number of streams (a peer that stops reading).
 */
const CONGESTION_BYTES = 8 * 1024 * 1024;
/**
 * DATA payloads at least this large leave as they are, as their own WebSocket message; smaller
 * frames are joined into one buffer, as copying a few KiB costs less than another write.
 */
const COPY_BELOW = 8 * 1024;

/** How a Tunnel sends and what it accepts from its peer. */
export interface TunnelOptions {
  /** How this end masks its WebSocket frames: 'none' on the relay, a zero or random key on the agent. */
  masking: Masking;
  /** Largest DATA payload accepted from the peer (the relay's --max-frame-size). */
  receiveFrameLimit?: number;
  /** Drives the heartbeat; tests pass one they advance by hand. */
  clock?: Clock;
}

/** What the Tunnel's owner (the relay's agent handling, or the agent) does with what arrives. */
export interface TunnelHandlers {
  /** A stream-0 frame (HELLO, WELCOME, REFUSE, GOAWAY). */
  control(frame: Frame): void;
  /** A new stream from the relay (agent side only). */
  open?(stream: TunnelStream, head: RequestHead): void;
  /** The WebSocket closed, for whatever reason; every stream has been reset. */
  closed(code: number, reason: string): void;
  /**
   * Something went wrong on this connection, to be logged: a ProtocolError (the peer broke the
   * protocol; the connection is closing with 1002), or an exception thrown while handling what the
   * peer sent (a bug, or a library refusing input nobody foresaw). An exception with a `stream` cost
   * only that stream, which was reset; one without closed the connection with 1011.
   */
  fault(error: unknown, stream?: number): void;
}

/** One WebSocket as many flow-controlled streams: frames batched out, frames dispatched in, a heartbeat. */
export class Tunnel implements StreamHost {
  readonly streams = new Map<number, TunnelStream>();
  /** Largest DATA payload the peer accepts: the relay's --max-frame-size, told to the agent in WELCOME (streams send at most DATA_FRAME_BYTES). */
  sendFrameLimit = MAX_FRAME_PAYLOAD;
  private readonly waiting = new Set<TunnelStream>();
  private nextStreamId = 1;
  /** Messages ready to go at the next flush, each ending with a large DATA payload. */
  private messages: OutgoingMessage[] = [];
  /** Small frames queued since the last large payload: the head of the next message. */
  private run: Buffer[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  private heartbeat?: Timer;
  private heardFrom = true;
  private closed = false;
  /** Why this side closed, when it did: a terminated socket reports only 1006. */
  private closedHere?: { code: number; reason: string };

  private readonly masking: Masking;
  private readonly receiveFrameLimit: number;
  private readonly clock: Clock;

  constructor(
    readonly ws: WebSocket,
    private readonly handlers: TunnelHandlers,
    options: TunnelOptions,
  ) {
    this.masking = options.masking;
    this.receiveFrameLimit = options.receiveFrameLimit ?? MAX_FRAME_PAYLOAD;
    this.clock = options.clock ?? systemClock;
    ws.binaryType = 'nodebuffer';
    // Every listener below is the end of the line for an exception: whatever a peer sends costs it
    // its own stream or connection, never the process and the other tunnels in it.
    ws.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.heardFrom = true;
    });
    ws.on('ping', () => {
      this.heardFrom = true;
    });
    ws.on('close', (code, reason) => this.onClose(code, reason.toString()));
    // 'close' follows every error; keep the error's words as the reason, which 1006 alone lacks.
    ws.on('error', (error) => {
      this.closedHere ??= { code: 1006, reason: error.message };
    });
  }

  /**
   * Pings every `intervalMs`; a peer that sends nothing at all for two intervals is cut off,
   * so dead agents do not linger and NAT boxes see traffic on idle tunnels.
   */
  startHeartbeat(intervalMs: number): void {
    this.clock.cancel(this.heartbeat);
    this.heartbeat = this.clock.every(intervalMs, () => {
      if (!this.heardFrom) {
        this.close(CloseCode.heartbeatTimeout, `no heartbeat for ${Math.round((2 * intervalMs) / 1000)} s`);
        this.ws.terminate();
        return;
      }
      this.heardFrom = false;
      if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
    });
  }

  /** Relay side: starts a stream for a public request and sends its head. */
  openStream(head: RequestHead): TunnelStream {
    // Ids wrap after 2^31 streams; one still open from back then (a long-lived WebSocket) keeps its id.
    while (this.streams.has(this.nextStreamId)) this.nextStreamId = this.nextStreamId >= 0x7fffffff ? 1 : this.nextStreamId + 1;
    const stream = new TunnelStream(this, this.nextStreamId);
    this.nextStreamId = this.nextStreamId >= 0x7fffffff ? 1 : this.nextStreamId + 1;
    this.streams.set(stream.id, stream);
    this.send(encodeRequestHead(stream.id, head));
    return stream;
  }

  sendControl(type: FrameType, value: unknown): void {
    this.send(encodeJson(type, 0, value));
  }

  /** Queues a frame; everything queued in this turn of the event loop leaves as one message. */
  send(frame: Buffer): void {
    if (this.closed) return;
    this.run.push(frame);
    this.queued(frame.length);
  }

  /** Queues a DATA frame; a large payload is not copied, so the caller must not reuse its memory. */
  sendData(stream: number, payload: Buffer): void {
    if (payload.length < COPY_BELOW) return this.send(encodeFrame(FrameType.Data, stream, payload));
    if (this.closed) return;
    this.run.push(encodeHeader(FrameType.Data, stream, payload.length));
    this.messages.push({ head: this.joinRun(), payload });
    this.queued(HEADER_BYTES + payload.length);
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.batchBytes === 0 || this.ws.readyState !== this.ws.OPEN) return;
    if (this.run.length > 0) this.messages.push({ head: this.joinRun() });
    writeMessages(this.ws, this.masking, this.messages, this.sent);
    this.messages = [];
    this.batchBytes = 0;
  }

  private queued(bytes: number): void {
    this.batchBytes += bytes;
    if (this.batchBytes >= BATCH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(Tunnel.scheduledFlush, this);
    }
  }

  /** The flush at the end of a turn of the event loop: nothing above it would catch what it throws. */
  private static scheduledFlush(tunnel: Tunnel): void {
    try {
      tunnel.flush();
    } catch (error) {
      tunnel.handlers.fault(error);
      tunnel.ws.terminate();
    }
  }

  private joinRun(): Buffer {
    const head = this.run.length === 1 ? this.run[0] : Buffer.concat(this.run);
    this.run = [];
    return head;
  }

  /** True while the WebSocket holds more unsent bytes than it should: writers pause. */
  get congested(): boolean {
    return this.ws.bufferedAmount + this.batchBytes > CONGESTION_BYTES;
  }

  /** A stream paused for congestion; it hears `roomAvailable` once the backlog drains. */
  waitForRoom(stream: TunnelStream): void {
    this.waiting.add(stream);
  }

  private readonly sent = (): void => {
    if (this.waiting.size === 0 || this.congested) return;
    const ready = [...this.waiting];
    this.waiting.clear();
    for (const stream of ready) stream.guard(() => stream.roomAvailable())();
  };

  /** Closes the WebSocket after sending what is queued; the peer gets `reason` cut to what a close frame holds. */
  close(code: number = CloseCode.normal, reason = ''): void {
    this.closedHere ??= { code, reason };
    this.flush();
    closePeer(this.ws, code, reason);
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  private receive(data: Buffer, isBinary: boolean): void {
    this.heardFrom = true;
    let frames: Frame[];
    try {
      if (!isBinary) throw new ProtocolError('text message received; Porthole frames are binary');
      frames = decodeFrames(data, this.receiveFrameLimit);
    } catch (error) {
      return this.failed(error);
    }
    for (const frame of frames) {
      if (this.closedHere) return;
      try {
        this.dispatch(frame);
      } catch (error) {
        this.failed(error, frame.stream);
      }
    }
  }

  /**
   * Handling something the peer sent threw. A ProtocolError closes the connection with 1002. Any
   * other exception ends only its stream when it happened on one, and the connection (1011) otherwise.
   */
  private failed(error: unknown, streamId = 0): void {
    if (error instanceof ProtocolError) {
      this.handlers.fault(error);
      return this.close(CloseCode.protocolError, `malformed frame: ${error.message}`);
    }
    if (streamId !== 0) {
      const stream = this.streams.get(streamId);
      return stream ? stream.fail(error) : this.handlers.fault(error, streamId);
    }
    this.handlers.fault(error);
    this.close(CloseCode.internalError, `internal error: ${error instanceof Error ? error.message : String(error)}`);
  }

  private dispatch(frame: Frame): void {
    if (frame.stream === 0) return this.handlers.control(frame);
    if (frame.type === FrameType.Open) {
      if (!this.handlers.open) throw new ProtocolError('OPEN is sent by the relay only');
      if (this.streams.has(frame.stream)) throw new ProtocolError(`stream ${frame.stream} is already open`);
      const head = decodeRequestHead(frame);
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
    this.clock.cancel(this.heartbeat);
    this.messages = [];
    this.run = [];
    this.batchBytes = 0;
    this.waiting.clear();
    for (const stream of [...this.streams.values()])
      stream.guard(() => stream.abandon({ code: 'cancelled', message: 'the tunnel closed' }))();
    try {
      this.handlers.closed(this.closedHere?.code ?? code, this.closedHere?.reason ?? reason);
    } catch (error) {
      this.handlers.fault(error);
    }
  }

  /** A stream's exception, for the owner's log; the stream has been reset. */
  fault(error: unknown, stream: number): void {
    this.handlers.fault(error, stream);
  }

  /** Called by a stream once both directions are finished. */
  forget(stream: TunnelStream): void {
    this.streams.delete(stream.id);
    this.waiting.delete(stream);
  }
}
