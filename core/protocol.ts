/**
 * The Porthole wire protocol: what relay and agent say to each other over one WebSocket.
 *
 * Every WebSocket message is binary and carries one or more frames back to back:
 *
 *     | type: u8 | stream id: u32 BE | payload length: u32 BE | payload |
 *
 * Stream 0 is the connection itself (HELLO, WELCOME, REFUSE, GOAWAY). Every public HTTP request,
 * and every upgraded connection (WebSocket, HMR), is one stream, opened by the relay with OPEN.
 * Request and response heads are short lines of text (core/heads.ts), the rare control frames small
 * JSON payloads (checked by core/controlChecks.ts), and bodies raw DATA payloads.
 *
 * Flow control works as in HTTP/2: each side may have at most `INITIAL_WINDOW` unacknowledged
 * body bytes in flight per stream, and the receiver returns credit with WINDOW as its consumer
 * (the browser, or the local server) takes the bytes. One slow reader therefore stalls only its
 * own stream, and memory stays bounded whatever the body size.
 */

/** Bumped when a change would confuse a peer of the previous version; HELLO carries it. */
export const PROTOCOL_VERSION = 2;

/** Path on the relay's apex where agents open their WebSocket. */
export const CONNECT_PATH = '/_porthole/connect';

/** Bytes of a frame header: type (1), stream id (4), payload length (4). */
export const HEADER_BYTES = 9;
/** Largest DATA payload accepted. The relay may ask for less (--max-frame-size, at least DATA_FRAME_BYTES). */
export const MAX_FRAME_PAYLOAD = 256 * 1024;
/**
 * The DATA payload size senders cut bodies into. Each large payload is its own WebSocket message,
 * and a message this small mostly fits in one 64 KiB socket read, which ws then hands over without
 * copying it: bulk transfers ran 30 % faster than with 64 KiB frames.
 */
export const DATA_FRAME_BYTES = 16 * 1024;
/** Largest JSON head (OPEN/RESPONSE/HELLO…). Public header size is limited before this. */
export const MAX_HEAD_BYTES = 128 * 1024;
/** Frames queued in one turn of the event loop leave together once they reach this many bytes. */
export const BATCH_BYTES = 64 * 1024;
/** Largest WebSocket message either side accepts: a batch just under BATCH_BYTES plus one more frame. */
export const MAX_MESSAGE_BYTES = BATCH_BYTES + HEADER_BYTES + MAX_FRAME_PAYLOAD;
/**
 * Body bytes a sender may have in flight on one stream before it waits for WINDOW, and so the most
 * a receiver buffers for one stream. One stream moves at most this much per round trip: 2 MiB keeps
 * bulk transfers flowing when the other side is far away or slow to be scheduled.
 */
export const INITIAL_WINDOW = 2 * 1024 * 1024;

/** The type byte of a frame; each member says who sends it, on which stream, and its payload. */
export enum FrameType {
  /** agent → relay, stream 0, JSON `Hello`: the first frame on every connection. */
  Hello = 1,
  /** relay → agent, stream 0, JSON `Welcome`: the tunnel is live. */
  Welcome = 2,
  /** relay → agent, stream 0, JSON `Refusal`: registration refused; the relay closes next. */
  Refuse = 3,
  /** relay → agent, text `RequestHead` (core/heads.ts): a new stream (a public request or upgrade). */
  Open = 4,
  /** agent → relay, text `ResponseHead` (core/heads.ts): the local server's status and headers. */
  Response = 5,
  /** either way: body bytes (or raw bytes of an upgraded connection). Counts against the window. */
  Data = 6,
  /** either way, empty: the sender's side of the body is complete. */
  End = 7,
  /** either way, JSON `Reset`: the stream is abandoned; no more frames for it. */
  Reset = 8,
  /** either way, u32 BE: the receiver consumed this many more bytes of the stream. */
  Window = 9,
  /** relay → agent, stream 0, JSON `GoAway`: the relay is shutting down; reconnect soon. */
  GoAway = 10,
}

const KNOWN_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

/** HELLO: the agent introduces itself, shows its token and asks for a name (and access rules). */
export interface Hello {
  protocol: number;
  /** Agent software version, for the relay's logs. */
  agent: string;
  token?: string;
  /** Requested name; the relay picks a readable random one when absent. */
  subdomain?: string;
  /** Secret from an earlier WELCOME: proves this agent owned the name before a drop. */
  resume?: string;
  /** `user:password` for HTTP Basic protection of the public URL. */
  basicAuth?: string;
  /**
   * Who else may open the share, beyond the password: a private link, an IP allow-list, open paths.
   * Sent only when one of them is asked for. Relays older than this field ignore it (they ignore
   * every field they do not know) and would serve the share to anyone, so an agent that sends it
   * serves nothing until WELCOME echoes `access`; without the echo it hangs up and tells its user
   * to update the relay. The password stays in `basicAuth`, which every protocol 2 relay enforces.
   */
  access?: AccessPolicy;
}

/**
 * A share's access rules (besides the password), as the agent asks for them. The relay checks
 * them (core/access.ts) and refuses the HELLO with code `access` and a sentence when one is wrong.
 * Every visitor must pass every rule given, except on an open path, which skips them all.
 */
export interface AccessPolicy {
  /**
   * Private link: the secret the link carries (URL-safe, 16 to 128 characters, from the agent, so
   * the link outlives reconnects and relay restarts). Visitors need the link, or the cookie the
   * relay sets when they open it; neither reaches the local server.
   */
  linkKey?: string;
  /** Visitor addresses allowed: IPv4 or IPv6 ranges (`10.0.0.0/8`) or single addresses (core/cidr.ts). */
  allowIps?: string[];
  /** Globs of paths anyone may reach without password, link or allowed address (core/pathGlob.ts). */
  openPaths?: string[];
}

/** What WELCOME says the relay enforces for the tunnel: each rule on or off, and how many entries. */
export interface AccessSummary {
  password: boolean;
  privateLink: boolean;
  allowIps: number;
  openPaths: number;
}

/** WELCOME: the relay's yes, with the public URL and the terms the agent must keep to. */
export interface Welcome {
  /** The public URL of the tunnel, e.g. https://myapp.example.dev. */
  url: string;
  /** The name granted: the one asked for, or a random one. */
  subdomain: string;
  /** Keep this to reclaim the same name after a reconnect. */
  resume: string;
  /** Seconds between pings the relay expects. */
  heartbeat: number;
  /** Largest DATA payload the relay accepts (its --max-frame-size); MAX_FRAME_PAYLOAD when absent. */
  maxFrame?: number;
  /** The access rules enforced for this tunnel. Relays that predate `Hello.access` leave it out. */
  access?: AccessSummary;
  /** With a private link: the public URL carrying its key, to give to the people invited. */
  link?: string;
}

/** Every RefusalCode, for the agent's check of REFUSE. */
export const REFUSAL_CODES = ['version', 'token', 'taken', 'invalid-name', 'limit', 'malformed', 'access'] as const;
/** Why a relay refused an agent, as a machine reads it; the message says it for a person. */
export type RefusalCode = (typeof REFUSAL_CODES)[number];
/** REFUSE: the relay's no (a wrong token, a taken name…), with a sentence for the agent's user. */
export interface Refusal {
  code: RefusalCode;
  message: string;
}

/** OPEN: a public request's head, as the relay received it. */
export interface RequestHead {
  method: string;
  /** Path and query, exactly as the public client sent it. */
  path: string;
  /** Raw headers, name and value alternating, hop-by-hop headers already removed. */
  headers: string[];
  /** True when a body follows (Content-Length > 0 or chunked); END alone follows otherwise. */
  body?: boolean;
  /** True when the client asked to switch protocols (WebSocket); DATA then carries raw bytes. */
  upgrade?: boolean;
  /** Public client address, for the request log. */
  remote?: string;
}

/** RESPONSE: the local server's status line and headers. */
export interface ResponseHead {
  status: number;
  statusText?: string;
  headers: string[];
}

/** Every ResetCode, for the check of RESET. */
export const RESET_CODES = ['unreachable', 'timeout', 'cancelled', 'internal'] as const;
/** Why a stream was abandoned: the local server unreachable or too slow, the other side gone, or a fault. */
export type ResetCode = (typeof RESET_CODES)[number];
/** RESET: a stream abandoned, with a sentence the relay may show the visitor. */
export interface Reset {
  code: ResetCode;
  message: string;
}

/** GOAWAY: the relay is shutting down, and why; the agent reconnects soon. */
export interface GoAway {
  reason: string;
}

/** One decoded frame; `payload` is a view into the WebSocket message it came in. */
export interface Frame {
  type: FrameType;
  stream: number;
  payload: Buffer;
}

/** A peer sent bytes that are not a valid frame; the connection is closed with this message. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** WebSocket close codes the relay uses (4000–4999 are for applications). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  /** The relay cannot take the agent right now (a cluster node without Redis); it reconnects with backoff. */
  tryAgain: 1013,
  /** This side failed on something it could not foresee (a bug, reported in its log): the connection ends, the process lives. */
  internalError: 1011,
  refused: 4000,
  heartbeatTimeout: 4001,
  replaced: 4002,
} as const;

/** A frame with its payload copied behind its header, ready to send. */
export function encodeFrame(type: FrameType, stream: number, payload?: Buffer | Uint8Array): Buffer {
  const length = payload ? payload.length : 0;
  const frame = Buffer.allocUnsafe(HEADER_BYTES + length);
  writeHeader(frame, type, stream, length);
  if (payload) frame.set(payload, HEADER_BYTES);
  return frame;
}

/** A frame header alone, for a payload that follows it on the wire without being copied behind it. */
export function encodeHeader(type: FrameType, stream: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(header, type, stream, length);
  return header;
}

/** Writes a frame header into the first HEADER_BYTES of `target`. */
export function writeHeader(target: Buffer, type: FrameType, stream: number, length: number): void {
  target[0] = type;
  target.writeUInt32BE(stream, 1);
  target.writeUInt32BE(length, 5);
}

/** A frame carrying `value` as JSON (the control frames: HELLO, WELCOME, REFUSE, RESET, GOAWAY). */
export function encodeJson(type: FrameType, stream: number, value: unknown): Buffer {
  return encodeFrame(type, stream, Buffer.from(JSON.stringify(value)));
}

/** WINDOW: `increment` more bytes of `stream` were consumed, so the sender may send that many more. */
export function encodeWindow(stream: number, increment: number): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_BYTES + 4);
  frame[0] = FrameType.Window;
  frame.writeUInt32BE(stream, 1);
  frame.writeUInt32BE(4, 5);
  frame.writeUInt32BE(increment, HEADER_BYTES);
  return frame;
}

/**
 * Splits one WebSocket message into frames. Payloads are views into `message`, not copies.
 * Throws ProtocolError on anything malformed: a partial header, a length past the end,
 * an unknown type, an oversized payload (DATA past `maxData`, any other frame past MAX_HEAD_BYTES).
 */
export function decodeFrames(message: Buffer, maxData = MAX_FRAME_PAYLOAD): Frame[] {
  const frames: Frame[] = [];
  let offset = 0;
  while (offset < message.length) {
    if (message.length - offset < HEADER_BYTES) {
      throw new ProtocolError(`truncated frame header (${message.length - offset} of ${HEADER_BYTES} bytes)`);
    }
    const type = message[offset];
    const stream = message.readUInt32BE(offset + 1);
    const length = message.readUInt32BE(offset + 5);
    if (!KNOWN_TYPES.has(type)) throw new ProtocolError(`unknown frame type ${type} on stream ${stream}`);
    const limit = type === FrameType.Data ? maxData : MAX_HEAD_BYTES;
    if (length > limit) throw new ProtocolError(`frame of ${length} bytes exceeds the ${limit}-byte limit`);
    const start = offset + HEADER_BYTES;
    if (start + length > message.length) {
      throw new ProtocolError(`frame on stream ${stream} claims ${length} bytes but only ${message.length - start} follow`);
    }
    frames.push({ type, stream, payload: message.subarray(start, start + length) });
    offset = start + length;
  }
  return frames;
}

/** A JSON frame's object; `what` names the frame in the ProtocolError thrown for anything else. */
export function decodeJson<T>(frame: Frame, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(frame.payload.toString('utf8'));
  } catch {
    throw new ProtocolError(`${what} on stream ${frame.stream} is not valid JSON`);
  }
  if (value === null || typeof value !== 'object') throw new ProtocolError(`${what} on stream ${frame.stream} is not an object`);
  return value as T;
}

/** A WINDOW frame's increment; throws ProtocolError for a payload of another size or a zero grant. */
export function decodeWindow(frame: Frame): number {
  if (frame.payload.length !== 4) throw new ProtocolError(`WINDOW on stream ${frame.stream} must carry 4 bytes`);
  const increment = frame.payload.readUInt32BE(0);
  if (increment === 0) throw new ProtocolError(`WINDOW on stream ${frame.stream} grants 0 bytes`);
  return increment;
}
