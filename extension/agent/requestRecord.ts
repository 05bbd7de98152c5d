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
  /** Raw headers, name and value alternating. */
  requestHeaders: string[];
  responseHeaders: string[];
  requestBytes: number;
  responseBytes: number;
  /** The first `captureBytes` of each body. */
  requestBody: Buffer;
  responseBody: Buffer;
  requestBodyTruncated: boolean;
  responseBodyTruncated: boolean;
}
