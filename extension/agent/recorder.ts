import type { RequestHead } from '../../core/protocol.js';
import type { TunnelStream } from '../../core/stream.js';
import type { Encoding } from './compression.js';
import type { RequestRecord } from './requestRecord.js';

/** Builds a RequestRecord as a stream progresses, keeping only the first bytes of each body. */
export class Recorder {
  private readonly record: RequestRecord;
  private readonly started = performance.now();
  private readonly requestChunks: Buffer[] = [];
  private readonly responseChunks: Buffer[] = [];
  private finished = false;
  /** The stream a compressed body leaves through: its sent bytes are the body's size after compression. */
  private encodedThrough?: { encoding: Encoding; stream: TunnelStream };

  constructor(
    head: RequestHead,
    id: number,
    private readonly limit: number,
    private readonly emit: (r: RequestRecord) => void,
  ) {
    this.record = {
      id,
      method: head.method,
      path: head.path,
      remote: head.remote,
      startedAt: Date.now(),
      upgrade: Boolean(head.upgrade),
      requestHeaders: head.headers,
      localRequestHeaders: head.headers,
      responseHeaders: [],
      visitorResponseHeaders: [],
      requestBytes: 0,
      responseBytes: 0,
      requestBody: Buffer.alloc(0),
      responseBody: Buffer.alloc(0),
      requestBodyTruncated: false,
      responseBodyTruncated: false,
    };
  }

  requestChunk(chunk: Buffer): void {
    this.record.requestBytes += chunk.length;
    keep(this.requestChunks, chunk, this.record.requestBytes - chunk.length, this.limit);
  }

  /** The request's headers as they went to the local server. */
  localRequest(headers: string[]): void {
    this.record.localRequestHeaders = headers;
  }

  /** The local server's answer, and its headers as the visitor got them (the same array when unchanged). */
  response(status: number, headers: string[], visitorHeaders = headers): void {
    this.record.status = status;
    this.record.responseHeaders = headers;
    this.record.visitorResponseHeaders = visitorHeaders;
  }

  compressed(encoding: Encoding, stream: TunnelStream): void {
    this.encodedThrough = { encoding, stream };
  }

  responseChunk(chunk: Buffer): void {
    this.record.responseBytes += chunk.length;
    keep(this.responseChunks, chunk, this.record.responseBytes - chunk.length, this.limit);
  }

  finish(error?: string): void {
    if (this.finished) return;
    this.finished = true;
    const r = this.record;
    r.durationMs = Math.round((performance.now() - this.started) * 10) / 10;
    if (error) r.error = error;
    if (this.encodedThrough) r.compression = { encoding: this.encodedThrough.encoding, bytes: this.encodedThrough.stream.sentBytes };
    r.requestBody = Buffer.concat(this.requestChunks);
    r.responseBody = Buffer.concat(this.responseChunks);
    r.requestBodyTruncated = r.requestBytes > r.requestBody.length;
    r.responseBodyTruncated = r.responseBytes > r.responseBody.length;
    this.emit(r);
  }
}

function keep(chunks: Buffer[], chunk: Buffer, before: number, limit: number): void {
  if (before >= limit) return;
  chunks.push(Buffer.from(chunk.subarray(0, limit - before)));
}
