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
