/**
 * Turns the agent's request records into the plain-text rows and details the request-log webview
 * shows. Everything here is data, never markup: the webview puts these strings into the page with
 * textContent only, so a request path like `/<img src=x onerror=alert(1)>` stays text.
 */
import zlib from 'node:zlib';
import { formatBytes } from '../../core/text.js';
import type { RequestRecord } from '../agent/requestRecord.js';

export type StatusClass = 'info' | 'success' | 'redirect' | 'client-error' | 'server-error' | 'failed';
export type StatusFilter = 'all' | '2xx' | '3xx' | '4xx' | '5xx' | 'failed';
export const STATUS_FILTERS: readonly StatusFilter[] = ['all', '2xx', '3xx', '4xx', '5xx', 'failed'];

export interface LogFilter {
  text: string;
  status: StatusFilter;
}

export interface LogRow {
  seq: number;
  time: string;
  method: string;
  path: string;
  status: string;
  statusClass: StatusClass;
  duration: string;
  size: string;
  /** Sent again from the log (Replay), not by a visitor. */
  replay: boolean;
  /** Shown on hover: the error, or what the row is a replay of. */
  note: string;
}

export type BodyPreview = { kind: 'empty' } | { kind: 'text'; text: string; note: string } | { kind: 'binary'; note: string };

/** One header as the visitor and the local server each saw it; null on the side that never had it. */
export interface HeaderView {
  name: string;
  visitor: string | null;
  local: string | null;
}

export interface LogDetail {
  seq: number;
  summary: string;
  facts: [string, string][];
  requestHeaders: HeaderView[];
  responseHeaders: HeaderView[];
  requestBody: BodyPreview;
  responseBody: BodyPreview;
}

/** Longest text shown for one body: a decompressed preview can be far larger than the capture. */
export const MAX_PREVIEW_CHARS = 64 * 1024;
const MAX_DECOMPRESSED_BYTES = 256 * 1024;

export function statusClass(record: Pick<RequestRecord, 'status' | 'error'>): StatusClass {
  const status = record.status;
  if (record.error !== undefined || status === undefined) return 'failed';
  if (status < 200) return 'info';
  if (status < 300) return 'success';
  if (status < 400) return 'redirect';
  if (status < 500) return 'client-error';
  return 'server-error';
}

export function matchesFilter(record: RequestRecord, filter: LogFilter): boolean {
  if (filter.status !== 'all') {
    const status = record.status;
    if (filter.status === 'failed') {
      if (statusClass(record) !== 'failed') return false;
    } else if (status === undefined || record.error !== undefined || Math.floor(status / 100) !== Number(filter.status[0])) {
      return false;
    }
  }
  const needle = filter.text.trim().toLowerCase();
  if (!needle) return true;
  const haystack = `${record.method} ${record.path} ${record.status ?? ''} ${record.error ?? ''}`.toLowerCase();
  return haystack.includes(needle);
}

export function toRow(seq: number, record: RequestRecord): LogRow {
  const notes = [];
  if (record.replayOf !== undefined) notes.push(`Replay of request #${record.replayOf}`);
  if (record.error !== undefined) notes.push(record.error);
  return {
    seq,
    time: formatClock(record.startedAt),
    method: record.method,
    path: record.path,
    status: record.error !== undefined || record.status === undefined ? 'failed' : String(record.status),
    statusClass: statusClass(record),
    duration: record.durationMs === undefined ? '' : formatDuration(record.durationMs),
    size: formatBytes(record.responseBytes),
    replay: record.replayOf !== undefined,
    note: notes.join(' · '),
  };
}

export function toDetail(seq: number, record: RequestRecord): LogDetail {
  const facts: [string, string][] = [['Started', new Date(record.startedAt).toISOString()]];
  if (record.durationMs !== undefined) facts.push(['Duration', formatDuration(record.durationMs)]);
  if (record.remote) facts.push(['Client', record.remote]);
  facts.push(['Sent', formatBytes(record.requestBytes)], ['Received', formatBytes(record.responseBytes)]);
  if (record.upgrade) facts.push(['Upgrade', 'yes (the connection was switched to another protocol)']);
  if (record.replayOf !== undefined) facts.push(['Replay of', `request #${record.replayOf}`]);
  if (record.error !== undefined) facts.push(['Error', record.error]);
  const outcome = record.error !== undefined ? 'failed' : (record.status ?? 'no response');
  return {
    seq,
    summary: `${record.method} ${record.path} → ${outcome}`,
    facts,
    requestHeaders: headerViews(record.requestHeaders, record.localRequestHeaders),
    responseHeaders: headerViews(record.visitorResponseHeaders, record.responseHeaders),
    requestBody: previewBody(record.requestBody, record.requestHeaders, record.requestBytes, record.requestBodyTruncated),
    responseBody: previewBody(record.responseBody, record.responseHeaders, record.responseBytes, record.responseBodyTruncated),
  };
}

/**
 * Pairs the visitor's side of a header list with the local server's (raw headers, name and value
 * alternating): the n-th header of a name on one side with the n-th of that name on the other, in
 * the visitor's order, then any the local server alone had.
 */
export function headerViews(visitor: readonly string[], local: readonly string[]): HeaderView[] {
  const views: HeaderView[] = [];
  const unmatched = new Map<string, number[]>();
  for (let i = 0; i + 1 < local.length; i += 2) {
    const name = local[i].toLowerCase();
    unmatched.set(name, [...(unmatched.get(name) ?? []), i]);
  }
  for (let i = 0; i + 1 < visitor.length; i += 2) {
    const match = unmatched.get(visitor[i].toLowerCase())?.shift();
    views.push({ name: visitor[i], visitor: visitor[i + 1], local: match === undefined ? null : local[match + 1] });
  }
  const rest = [...unmatched.values()].flat().sort((a, b) => a - b);
  for (const i of rest) views.push({ name: local[i], visitor: null, local: local[i + 1] });
  return views;
}

function header(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toLowerCase() === name) return raw[i + 1];
  return undefined;
}

/**
 * A readable preview of a captured body: decompressed when it was sent compressed (even if the
 * capture was cut short), JSON pretty-printed, text as text, anything else as its size only.
 */
export function previewBody(captured: Buffer, headers: readonly string[], totalBytes: number, truncated: boolean): BodyPreview {
  if (totalBytes === 0 && captured.length === 0) return { kind: 'empty' };
  const contentType = (header(headers, 'content-type') ?? '').toLowerCase();
  const encoding = (header(headers, 'content-encoding') ?? '').toLowerCase().trim();
  let bytes = captured;
  let note = truncated ? `first ${formatBytes(captured.length)} of ${formatBytes(totalBytes)}` : formatBytes(totalBytes);
  if (encoding && encoding !== 'identity') {
    const decoded = decompress(captured, encoding);
    if (!decoded) return { kind: 'binary', note: `${encoding}-compressed, ${formatBytes(totalBytes)}` };
    bytes = decoded;
    note += `, ${encoding}-compressed`;
  }
  const typeLabel = contentType.split(';')[0].trim();
  if (!isTextual(contentType, bytes, truncated)) {
    return { kind: 'binary', note: `binary, ${formatBytes(totalBytes)}${typeLabel ? ` (${typeLabel})` : ''}` };
  }
  let text = bytes.toString('utf8');
  if (/[/+]json\b/.test(contentType)) {
    try {
      text = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      note += truncated ? '' : ', not valid JSON';
    }
  }
  if (text.length > MAX_PREVIEW_CHARS) {
    text = text.slice(0, MAX_PREVIEW_CHARS);
    note += `, preview cut at ${MAX_PREVIEW_CHARS / 1024} K characters`;
  }
  return { kind: 'text', text, note };
}

function decompress(data: Buffer, encoding: string): Buffer | undefined {
  // SYNC_FLUSH: a capture cut mid-stream still yields everything decodable so far.
  const options = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: MAX_DECOMPRESSED_BYTES };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.gunzipSync(data, options);
    if (encoding === 'deflate') return zlib.inflateSync(data, options);
    if (encoding === 'br') {
      return zlib.brotliDecompressSync(data, {
        finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
        maxOutputLength: MAX_DECOMPRESSED_BYTES,
      });
    }
  } catch {
    // Not decodable (or a decompression bomb): shown as binary with its size instead.
  }
  return undefined;
}

const TEXT_TYPES =
  /^(text\/|application\/(json|[\w.+-]*\+json|[\w.+-]*\+xml|xml|javascript|ecmascript|x-www-form-urlencoded|graphql|x-ndjson|ld\+json))/;
const BINARY_TYPES = /^(image\/(?!svg)|audio\/|video\/|font\/|application\/(octet-stream|pdf|zip|gzip|wasm|x-protobuf|protobuf|msgpack))/;

function isTextual(contentType: string, bytes: Buffer, truncated: boolean): boolean {
  if (TEXT_TYPES.test(contentType) || contentType.startsWith('image/svg')) return true;
  if (BINARY_TYPES.test(contentType)) return false;
  return looksLikeUtf8Text(bytes, truncated);
}

/** Valid UTF-8 without control characters other than whitespace (a cut capture may end mid-character). */
export function looksLikeUtf8Text(bytes: Buffer, truncated: boolean): boolean {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let drop = 0; drop <= (truncated ? 3 : 0) && drop <= bytes.length; drop++) {
    try {
      const text = decoder.decode(bytes.subarray(0, bytes.length - drop));
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters (other than tab and line breaks) mark binary data
      return !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text);
    } catch {
      // try again without a possibly cut last character
    }
  }
  return false;
}

export function formatDuration(ms: number): string {
  if (ms < 1) return '<1 ms';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Local wall-clock time with milliseconds, as a request log shows it. */
export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}
