/**
 * Compression at the agent: a dev server sends its modules uncompressed, which costs nothing on
 * loopback and everything on a visitor's link. The agent compresses text-like responses as they
 * stream, on the developer's machine (the relay stays cheap), for visitors that accept br or gzip.
 *
 * Never compressed: HEAD and bodiless statuses, range responses (206, Content-Range), bodies that are
 * already encoded, `Cache-Control: no-transform`, server-sent events (text/event-stream), other
 * types, and bodies announced under MIN_BYTES. A compressed response loses its Content-Length, gets
 * `Vary: Accept-Encoding` and a weak ETag (RFC 9110 §8.8.1: the bytes differ from the original's).
 */
import zlib from 'node:zlib';
import { pipeReadable } from '../../core/pipe.js';
import type { TunnelStream } from '../../core/stream.js';

export type Encoding = 'br' | 'gzip';

/** Smaller bodies gain less than the frame overhead and a compressor's start-up cost. */
const MIN_BYTES = 1024;
/** Brotli 4 and gzip 4 both compress at ~70 MB/s here, far faster than any link they save time on. */
const BROTLI_QUALITY = 4;
const GZIP_LEVEL = 4;

const TEXT_LIKE_TYPES = new Set([
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'application/json',
  'application/manifest+json',
  'application/xml',
  'application/xhtml+xml',
  'application/wasm',
  'application/graphql-response+json',
  'image/svg+xml',
]);

/** Text-like: text/* (but not event streams), JavaScript, JSON and XML (also as +json/+xml suffixes), SVG, wasm. */
export function isCompressibleType(contentType: string): boolean {
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  if (type === 'text/event-stream') return false;
  return type.startsWith('text/') || TEXT_LIKE_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml');
}

/**
 * The encoding a visitor prefers among those the agent offers: br, then gzip, from an Accept-Encoding
 * value (RFC 9110 §12.5.3: q=0 refuses, `*` stands for any coding not named).
 */
export function preferredEncoding(acceptEncoding: string | undefined): Encoding | undefined {
  if (!acceptEncoding) return undefined;
  const quality = new Map<string, number>();
  for (const part of acceptEncoding.toLowerCase().split(',')) {
    const [coding, ...params] = part.split(';').map((s) => s.trim());
    if (!coding) continue;
    const q = params.find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    quality.set(coding, Number.isFinite(value) ? value : 0);
  }
  const accepts = (coding: string) =>
    (quality.get(coding) ?? (coding === 'gzip' ? quality.get('x-gzip') : undefined) ?? quality.get('*') ?? 0) > 0;
  if (accepts('br')) return 'br';
  if (accepts('gzip')) return 'gzip';
  return undefined;
}

export interface ResponsePlan {
  /** The response head for the visitor: the local server's, or rewritten for compression (or for Vary). */
  headers: string[];
  /** Set when the body is to be compressed with this encoding. */
  encoding?: Encoding;
  /** The body's length before compression, when the local server announced it. */
  length?: number;
}

/** The Accept-Encoding of a request's raw fields (several fields are one list). */
export function acceptEncodingOf(fields: string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i].length === 15 && fields[i].toLowerCase() === 'accept-encoding')
      value = value === undefined ? fields[i + 1] : `${value}, ${fields[i + 1]}`;
  }
  return value;
}

/**
 * Decides whether a response is compressed, from the request's method and fields (its
 * Accept-Encoding) and the response's status and fields. A response that could be compressed
 * carries `Vary: Accept-Encoding` even for a visitor that gets it plain, so that a shared cache keeps
 * the two apart. On every response's path: fields whose names cannot matter are skipped unread.
 */
export function planResponse(method: string, requestFields: string[], status: number, headers: string[]): ResponsePlan {
  if (method === 'HEAD' || status < 200 || status === 204 || status === 206 || status === 304) return { headers };
  let contentType = '';
  let length: number | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const size = headers[i].length;
    // content-type 12, cache-control and content-range 13, content-length 14, content-encoding 16
    if (size < 12 || size > 16 || size === 15) continue;
    const name = headers[i].toLowerCase();
    const value = headers[i + 1];
    if (name === 'content-type') contentType = value;
    else if (name === 'content-encoding' && value.trim().toLowerCase() !== 'identity') return { headers };
    else if (name === 'content-range') return { headers };
    else if (name === 'content-length') length = Number(value);
    else if (name === 'cache-control' && /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(value)) return { headers };
  }
  if ((length !== undefined && !(length >= MIN_BYTES)) || !isCompressibleType(contentType)) return { headers };
  const encoding = preferredEncoding(acceptEncodingOf(requestFields));
  return { headers: rewriteHeaders(headers, encoding), encoding, length };
}

/** Adds Vary: Accept-Encoding; when compressing, also Content-Encoding (for `identity`), a weak ETag, and no Content-Length. */
function rewriteHeaders(headers: string[], encoding: Encoding | undefined): string[] {
  const out: string[] = [];
  let varied = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i].toLowerCase();
    let value = headers[i + 1];
    if (name === 'vary') {
      const names = value.split(',').map((v) => v.trim().toLowerCase());
      if (names.includes('*') || names.includes('accept-encoding')) varied = true;
      else if (!varied) {
        value = `${value}, Accept-Encoding`;
        varied = true;
      }
    } else if (encoding && (name === 'content-length' || name === 'content-encoding'))
      continue; // (only `identity` gets here)
    else if (encoding && name === 'etag' && !value.startsWith('W/')) value = `W/${value}`;
    out.push(headers[i], value);
  }
  if (!varied) out.push('Vary', 'Accept-Encoding');
  if (encoding) out.push('Content-Encoding', encoding);
  return out;
}

/** An encoder between the local server's response body and the tunnel stream. */
export interface BodySink {
  /** False when the local server should pause until the sink's `resume` runs. */
  write(chunk: Buffer): boolean;
  /** The body is complete; `done` runs once its last byte has gone into the tunnel stream. */
  end(done: () => void): void;
  /** The local server failed mid-body: nothing more follows. */
  abort(): void;
}

/**
 * The body compressed as it streams, with back-pressure kept end to end: the encoder pauses while the
 * tunnel stream has no credit, and the local server while the encoder is full (`resume` on drain).
 * It flushes whenever the local server pauses, so what it has sent reaches the visitor at once (a
 * streamed page, a long poll), while chunks that arrive together are compressed as one.
 */
export function compressedBody(stream: TunnelStream, encoding: Encoding, sizeHint: number | undefined, resume: () => void): BodySink {
  const encoder = createEncoder(encoding, sizeHint);
  const flushKind = encoding === 'br' ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH;
  pipeReadable(encoder, stream);
  encoder.on('drain', resume);
  encoder.on('error', (error) => stream.reset('internal', `The agent could not compress the response: ${error.message}`));
  let flushQueued = false;
  const flush = () => {
    flushQueued = false;
    if (!encoder.writableEnded && !encoder.destroyed) encoder.flush(flushKind);
  };
  return {
    write(chunk) {
      const ok = encoder.write(chunk);
      if (!flushQueued) {
        flushQueued = true;
        setImmediate(flush);
      }
      return ok;
    },
    end(done) {
      encoder.once('end', done);
      encoder.end();
    },
    abort: () => encoder.destroy(),
  };
}

/** A streaming compressor; `sizeHint` (the body's Content-Length, when known) lets brotli size its window. */
function createEncoder(encoding: Encoding, sizeHint?: number): zlib.BrotliCompress | zlib.Gzip {
  if (encoding === 'gzip') return zlib.createGzip({ level: GZIP_LEVEL });
  const params: Record<number, number> = { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY };
  if (sizeHint) params[zlib.constants.BROTLI_PARAM_SIZE_HINT] = sizeHint;
  return zlib.createBrotliCompress({ params });
}
