/**
 * One request/response (or upgraded connection) inside a Tunnel, with credit-based flow control in
 * both directions.
 */
import {
  DATA_FRAME_BYTES,
  FrameType,
  INITIAL_WINDOW,
  ProtocolError,
  decodeJson,
  decodeWindow,
  encodeFrame,
  encodeJson,
  encodeWindow,
  type Frame,
  type Reset,
  type ResetCode,
  type ResponseHead,
} from './protocol.js';
import { checkReset } from './controlChecks.js';
import { decodeResponseHead, encodeResponseHead } from './heads.js';

/** Credit is returned once this much of the window has been consumed, not per chunk. */
const WINDOW_UPDATE_THRESHOLD = INITIAL_WINDOW / 4;

/** What a stream needs from the connection that carries it (a Tunnel). */
export interface StreamHost {
  /** Largest DATA payload the peer accepts. */
  readonly sendFrameLimit: number;
  /** True while the connection holds more unsent bytes than it should: writers pause. */
  readonly congested: boolean;
  /** Queues a frame for the peer. */
  send(frame: Buffer): void;
  /** Queues a DATA frame; the payload may go out uncopied, so its memory must not be reused. */
  sendData(stream: number, payload: Buffer): void;
  /** The stream paused for congestion; it hears `roomAvailable` once the backlog drains. */
  waitForRoom(stream: TunnelStream): void;
  /** The stream is finished in both directions. */
  forget(stream: TunnelStream): void;
  /** An exception cost this stream its life: for the owner's log. */
  fault(error: unknown, stream: number): void;
}

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

  constructor(
    private readonly host: StreamHost,
    readonly id: number,
  ) {}

  get isDone(): boolean {
    return this.done;
  }

  sendResponse(head: ResponseHead): void {
    if (!this.done) this.host.send(encodeResponseHead(this.id, head));
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
    if (!this.host.congested) return true;
    this.host.waitForRoom(this);
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
    this.host.send(encodeJson(FrameType.Reset, this.id, { code, message } satisfies Reset));
    this.finish();
  }

  /** The consumer took `bytes` of what arrived; return credit to the peer in sizeable steps. */
  consumed(bytes: number): void {
    if (this.done || this.receivedEnd) return;
    this.consumedSinceUpdate += bytes;
    if (this.consumedSinceUpdate >= WINDOW_UPDATE_THRESHOLD) {
      this.unacknowledged -= this.consumedSinceUpdate;
      this.host.send(encodeWindow(this.id, this.consumedSinceUpdate));
      this.consumedSinceUpdate = 0;
    }
  }

  receive(frame: Frame): void {
    switch (frame.type) {
      case FrameType.Response: {
        if (this.responded) throw new ProtocolError(`a second RESPONSE on stream ${this.id}`);
        this.responded = true;
        // Decoded, and so validated, whether anyone listens or not.
        const head = decodeResponseHead(frame);
        this.onResponse?.(head);
        return;
      }
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

  /**
   * An exception thrown while serving this stream (in a listener, a callback, a library call): the
   * stream is reset as 'internal', its owner hears of it through `onReset` so the other side of it
   * (the visitor, the local server) is answered or cut, and the tunnel reports it. Nothing else ends.
   */
  fail(error: unknown): void {
    this.host.fault(error, this.id);
    if (this.done) return;
    const onReset = this.onReset;
    const reset: Reset = { code: 'internal', message: `internal error: ${error instanceof Error ? error.message : String(error)}` };
    this.reset(reset.code, reset.message);
    try {
      onReset?.(reset);
    } catch (second) {
      this.host.fault(second, this.id);
    }
  }

  /** `listener` for a socket, request or timer serving this stream, such that an exception in it fails this stream alone. */
  guard<A extends unknown[]>(listener: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        listener(...args);
      } catch (error) {
        this.fail(error);
      }
    };
  }

  /** The tunnel has room again after `write` returned false because it was congested. */
  roomAvailable(): void {
    if (!this.done && this.queued.length === 0 && this.sendCredit > 0) this.onWritable?.();
  }

  private sendWithinCredit(chunk: Buffer): void {
    const frameLimit = Math.min(this.host.sendFrameLimit, DATA_FRAME_BYTES);
    let offset = 0;
    while (offset < chunk.length && this.sendCredit > 0) {
      const size = Math.min(chunk.length - offset, this.sendCredit, frameLimit);
      this.host.sendData(this.id, chunk.subarray(offset, offset + size));
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
      if (this.host.congested) this.host.waitForRoom(this);
      else this.onWritable?.();
    }
  }

  private sendEnd(): void {
    this.endQueued = false;
    this.sentEnd = true;
    this.host.send(encodeFrame(FrameType.End, this.id));
    if (this.receivedEnd) this.finish();
  }

  private finish(): void {
    this.done = true;
    this.queued = [];
    // A finished stream can outlive its use: V8 keeps a Map's old tables, with their entries, until a
    // full collection. Dropping the owner's callbacks keeps those from holding a whole request and
    // response alive through every young-generation GC, which then cost the relay 2.5 times as much.
    this.onResponse = this.onData = this.onEnd = this.onReset = this.onWritable = undefined;
    this.host.forget(this);
  }
}
