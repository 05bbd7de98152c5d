/**
 * One request/response (or upgraded connection) inside a Tunnel, with credit-based flow control in
 * both directions, and the helpers that connect it to Node streams.
 */
import type { Readable, Writable } from 'node:stream';
import {
  DATA_FRAME_BYTES, FrameType, INITIAL_WINDOW, ProtocolError, checkReset, decodeJson, decodeResponseHead, decodeWindow, encodeFrame, encodeJson,
  encodeResponseHead, encodeWindow,
  type Frame, type Reset, type ResetCode, type ResponseHead,
} from './protocol.js';
import type { Tunnel } from './tunnel.js';

/** Credit is returned once this much of the window has been consumed, not per chunk. */
const WINDOW_UPDATE_THRESHOLD = INITIAL_WINDOW / 4;

/** Owners set the `on*` callbacks they need. */
export class TunnelStream {
  onResponse?: (head: ResponseHead) => void;
  /** Body bytes arrived. Call `consumed(n)` once the consumer has taken them. */
  onData?: (chunk: Buffer) => void;
  onEnd?: () => void;
  onReset?: (reset: Reset) => void;
  /** Credit (or room on the connection) came back after `write` returned false: the source may resume. */
  onWritable?: () => void;

  /** Body bytes sent and received so far, for logs and metrics. */
  sentBytes = 0;
  receivedBytes = 0;
  private sendCredit = INITIAL_WINDOW;
  private queued: Buffer[] = [];
  private endQueued = false;
  private sentEnd = false;
  private receivedEnd = false;
  private responded = false;
  private unacknowledged = 0;
  private consumedSinceUpdate = 0;
  private done = false;

  constructor(readonly tunnel: Tunnel, readonly id: number) {}

  get isDone(): boolean {
    return this.done;
  }

  sendResponse(head: ResponseHead): void {
    if (!this.done) this.tunnel.send(encodeResponseHead(this.id, head));
  }

  /**
   * Sends body bytes as far as credit allows and queues the rest. Returns false when the source
   * should pause: the stream's window is spent, or the connection itself is backed up.
   */
  write(chunk: Buffer): boolean {
    if (this.done || this.sentEnd || this.endQueued) return false;
    this.sentBytes += chunk.length;
    if (this.queued.length > 0) this.queued.push(chunk);
    else this.sendWithinCredit(chunk);
    if (this.queued.length > 0 || this.sendCredit <= 0) return false;
    if (!this.tunnel.congested) return true;
    this.tunnel.waitForRoom(this);
    return false;
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
        if (this.responded) throw new ProtocolError(`a second RESPONSE on stream ${this.id}`);
        this.responded = true;
        this.onResponse?.(decodeResponseHead(frame));
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
        this.abandon(checkReset(decodeJson<Reset>(frame, 'RESET'), this.id));
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
    const onReset = this.onReset;
    this.finish();
    onReset?.(reset);
  }

  /** The tunnel has room again after `write` returned false because it was congested. */
  roomAvailable(): void {
    if (!this.done && this.queued.length === 0 && this.sendCredit > 0) this.onWritable?.();
  }

  private sendWithinCredit(chunk: Buffer): void {
    const frameLimit = Math.min(this.tunnel.sendFrameLimit, DATA_FRAME_BYTES);
    let offset = 0;
    while (offset < chunk.length && this.sendCredit > 0) {
      const size = Math.min(chunk.length - offset, this.sendCredit, frameLimit);
      this.tunnel.sendData(this.id, chunk.subarray(offset, offset + size));
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
    else if (this.sendCredit > 0) {
      if (this.tunnel.congested) this.tunnel.waitForRoom(this);
      else this.onWritable?.();
    }
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
    // A finished stream can outlive its use: V8 keeps a Map's old tables, with their entries, until a
    // full collection. Dropping the owner's callbacks keeps those from holding a whole request and
    // response alive through every young-generation GC, which then cost the relay 2.5 times as much.
    this.onResponse = this.onData = this.onEnd = this.onReset = this.onWritable = undefined;
    this.tunnel.forget(this);
  }
}

/**
 * Streams a Node Readable (a request body, a socket) into a tunnel stream, pausing on back-pressure.
 * A source that closes before its end (a client that went away mid-upload) resets the stream.
 */
export function pipeReadable(source: Readable, stream: TunnelStream): void {
  stream.onWritable = () => source.resume();
  source.on('data', (chunk: Buffer) => { if (!stream.write(chunk)) source.pause(); });
  source.on('end', () => stream.end());
  source.on('close', () => { if (!source.readableEnded) stream.reset('cancelled', 'the sender went away before the body ended'); });
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
