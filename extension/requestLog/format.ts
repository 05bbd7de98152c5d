/**
 * Turns the agent's request records into the plain-text rows and details the request-log webview
 * shows. Everything here is data, never markup: the webview puts these strings into the page with
 * textContent only, so a request path like `/<img src=x onerror=alert(1)>` stays text.
 */
import { formatBytes } from '../../core/text.js';
import type { RequestRecord } from '../agent/requestRecord.js';
import { bodyView, headerValue, type BodyView } from './body.js';

export type StatusClass = 'info' | 'success' | 'redirect' | 'client-error' | 'server-error' | 'failed';

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

/** One side of an exchange: its first line, headers and body. */
export interface MessageView {
  line: string;
  /** The visitor's side and the local server's side of each header (they differ where the agent mapped one). */
  headers: HeaderView[];
  body: BodyView;
}

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
  request: MessageView;
  response: MessageView;
  /** The log entry this one replays, while it is still in the log: what Compare compares with. */
  originalSeq?: number;
  /** Why Replay cannot send this request as it was, if it cannot (its body was cut). */
  replayProblem?: string;
  /** The request as the Edit and Replay form starts: headers one `Name: value` a line. */
  edit: { method: string; path: string; headers: string; body?: string; bodyNote?: string };
}

export function statusClass(record: Pick<RequestRecord, 'status' | 'error'>): StatusClass {
  const status = record.status;
  if (record.error !== undefined || status === undefined) return 'failed';
  if (status < 200) return 'info';
  if (status < 300) return 'success';
  if (status < 400) return 'redirect';
  if (status < 500) return 'client-error';
  return 'server-error';
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
    size: record.compression
      ? `${formatBytes(record.responseBytes)} → ${formatBytes(record.compression.bytes)}`
      : formatBytes(record.responseBytes),
    replay: record.replayOf !== undefined,
    note: notes.join(' · '),
  };
}

export function toDetail(seq: number, record: RequestRecord, originalSeq?: number): LogDetail {
  const facts: [string, string][] = [['Started', new Date(record.startedAt).toISOString()]];
  if (record.durationMs !== undefined) facts.push(['Duration', formatDuration(record.durationMs)]);
  if (record.remote) facts.push(['Client', record.remote]);
  facts.push(['Sent', formatBytes(record.requestBytes)], ['Received', formatBytes(record.responseBytes)]);
  if (record.compression)
    facts.push([
      'Compressed',
      `${formatBytes(record.compression.bytes)} with ${record.compression.encoding}, by the agent for the visitor`,
    ]);
  if (record.upgrade) facts.push(['Upgrade', 'yes (the connection was switched to another protocol)']);
  if (record.replayOf !== undefined)
    facts.push(['Replay of', originalSeq === undefined ? 'a request no longer in the log' : `request #${originalSeq}`]);
  if (record.error !== undefined) facts.push(['Error', record.error]);
  const outcome = record.error !== undefined ? 'failed' : (record.status ?? 'no response');
  const requestBody = bodyView(record.requestBody, record.requestHeaders, record.requestBytes, record.requestBodyTruncated);
  const identity = !headerValue(record.requestHeaders, 'content-encoding');
  const cutBody = record.requestBodyTruncated
    ? `The body was ${formatBytes(record.requestBytes)}, more than the ${formatBytes(record.requestBody.length)} kept: this box holds the part kept, and Send sends what it holds.`
    : undefined;
  return {
    seq,
    summary: `${record.method} ${record.path} → ${outcome}`,
    facts,
    request: {
      line: `${record.method} ${record.path} HTTP/1.1`,
      headers: headerViews(record.requestHeaders, record.localRequestHeaders),
      body: requestBody,
    },
    response: {
      line:
        record.error !== undefined
          ? `No response: ${record.error}`
          : record.status === undefined
            ? 'No response yet'
            : `HTTP/1.1 ${record.status}`,
      headers: headerViews(record.visitorResponseHeaders, record.responseHeaders),
      body: bodyView(record.responseBody, record.responseHeaders, record.responseBytes, record.responseBodyTruncated),
    },
    originalSeq,
    replayProblem: record.requestBodyTruncated
      ? `Its body (${formatBytes(record.requestBytes)}) was cut at ${formatBytes(record.requestBody.length)}; use Edit and Replay to send a body of your own.`
      : undefined,
    edit: {
      method: record.method,
      path: record.path,
      headers: editableHeaders(record.requestHeaders),
      body: requestBody.editable ?? (record.requestBodyTruncated ? (identity && requestBody.raw) || '' : undefined),
      bodyNote:
        cutBody ??
        (requestBody.kind !== 'empty' && requestBody.editable === undefined
          ? 'This body is not plain text (binary or compressed): Send sends it exactly as it was.'
          : undefined),
    },
  };
}

/** The headers as the visitor sent them, one `Name: value` a line, without Content-Length (computed from the body). */
function editableHeaders(raw: readonly string[]): string {
  const lines: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toLowerCase() !== 'content-length') lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return lines.join('\n');
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
