/** What the agent reports of each request it forwarded: for request logs, the CLI's lines and replays. */
export interface RequestRecord {
  id: number;
  method: string;
  path: string;
  remote?: string;
  startedAt: number;
  durationMs?: number;
  status?: number;
  error?: string;
  upgrade: boolean;
  replayOf?: number;
  /** Raw headers, name and value alternating: as the visitor sent them, with the relay's X-Forwarded-*. */
  requestHeaders: string[];
  /** As the local server received them: Host rewritten, and origins mapped, in Host-rewrite mode. */
  localRequestHeaders: string[];
  /** As the local server answered. */
  responseHeaders: string[];
  /** As the visitor received them: the same array as responseHeaders unless a header was mapped. */
  visitorResponseHeaders: string[];
  requestBytes: number;
  /** The response body as the local server sent it. */
  responseBytes: number;
  /** Set when the agent compressed the response for the visitor: the encoding, and the body bytes that left. */
  compression?: { encoding: 'br' | 'gzip'; bytes: number };
  /** The first `captureBytes` of each body. */
  requestBody: Buffer;
  responseBody: Buffer;
  requestBodyTruncated: boolean;
  responseBodyTruncated: boolean;
}

/** A request to send to the local server again: a logged one as it was, or as edited in the request log. */
export interface ReplayRequest {
  method: string;
  path: string;
  /** Raw headers, name and value alternating; Content-Length is computed from the body. */
  headers: string[];
  body: Buffer;
}

/** Bytes of each request and response body a request log keeps, unless told otherwise. */
export const DEFAULT_CAPTURE_BYTES = 256 * 1024;
/** The most a request log may keep of one body. */
export const MAX_CAPTURE_BYTES = 10 * 1024 * 1024;

/** `bytes` when it is a capture size (a whole number from 0 to MAX_CAPTURE_BYTES); throws a RangeError for a person otherwise. */
export function checkCaptureBytes(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_CAPTURE_BYTES) {
    throw new RangeError(`The capture size must be a whole number of bytes from 0 to ${MAX_CAPTURE_BYTES}, not ${bytes}.`);
  }
  return bytes;
}
