/**
 * Which requests the log shows: a search across method, path, status, headers and captured bodies
 * (decoded), and filters by status class, method and content type. Runs in the extension host, so
 * the page only ever receives the rows it shows.
 */
import type { RequestRecord } from '../agent/requestRecord.js';
import { bodyKind, decodeBody, headerValue, type BodyKind } from './body.js';

export const STATUS_FILTERS = ['all', '2xx', '3xx', '4xx', '5xx', 'failed'] as const;
export const METHOD_FILTERS = ['all', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'other'] as const;
/** The kind of the request's or the response's body; `none`: neither has one. */
export const TYPE_FILTERS = ['all', 'json', 'form', 'html', 'xml', 'text', 'image', 'binary', 'none'] as const;

export type StatusFilter = (typeof STATUS_FILTERS)[number];
export type MethodFilter = (typeof METHOD_FILTERS)[number];
export type TypeFilter = (typeof TYPE_FILTERS)[number];

export interface LogFilter {
  /** Searched case-insensitively; empty matches everything. */
  text: string;
  status: StatusFilter;
  method: MethodFilter;
  type: TypeFilter;
}

export const NO_FILTER: LogFilter = { text: '', status: 'all', method: 'all', type: 'all' };
/** Longest search text accepted from the page. */
const MAX_SEARCH_CHARS = 500;

/** A filter from the page, whatever it sent: unknown values fall back to `all`. */
export function readFilter(value: unknown): LogFilter {
  const given = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const pick = <T extends string>(options: readonly T[], v: unknown): T => (options.includes(v as T) ? (v as T) : options[0]);
  return {
    text: typeof given.text === 'string' ? given.text.slice(0, MAX_SEARCH_CHARS) : '',
    status: pick(STATUS_FILTERS, given.status),
    method: pick(METHOD_FILTERS, given.method),
    type: pick(TYPE_FILTERS, given.type),
  };
}

export function matchesFilter(record: RequestRecord, filter: LogFilter): boolean {
  if (filter.status !== 'all' && statusGroup(record) !== filter.status) return false;
  if (filter.method !== 'all') {
    const known = (METHOD_FILTERS as readonly string[]).includes(record.method) ? record.method : 'other';
    if (known !== filter.method) return false;
  }
  if (filter.type !== 'all' && !bodyKinds(record).includes(filter.type)) return false;
  return matchesSearch(record, filter.text);
}

function statusGroup(record: RequestRecord): StatusFilter {
  if (record.error !== undefined || record.status === undefined) return 'failed';
  const group = `${Math.floor(record.status / 100)}xx`;
  return (STATUS_FILTERS as readonly string[]).includes(group) ? (group as StatusFilter) : 'all';
}

function bodyKinds(record: RequestRecord): (BodyKind | 'none')[] {
  const kinds: (BodyKind | 'none')[] = [];
  for (const [headers, body, bytes] of [
    [record.requestHeaders, record.requestBody, record.requestBytes],
    [record.responseHeaders, record.responseBody, record.responseBytes],
  ] as const) {
    if (bytes > 0) kinds.push(bodyKind(headerValue(headers, 'content-type'), body.subarray(0, 512), true));
  }
  return kinds.length ? kinds : ['none'];
}

/** The search: method, path, status, error, every header name and value, and both bodies decoded. */
function matchesSearch(record: RequestRecord, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) return true;
  const head = `${record.method} ${record.path} ${record.status ?? ''} ${record.error ?? ''}`.toLowerCase();
  if (head.includes(needle)) return true;
  for (const value of [...record.requestHeaders, ...record.responseHeaders]) if (value.toLowerCase().includes(needle)) return true;
  return (
    bodyIncludes(record.requestBody, record.requestHeaders, needle) || bodyIncludes(record.responseBody, record.responseHeaders, needle)
  );
}

function bodyIncludes(captured: Buffer, headers: readonly string[], needle: string): boolean {
  if (captured.length === 0) return false;
  const { bytes } = decodeBody(captured, headerValue(headers, 'content-encoding'));
  // Exact bytes first (cheap, and finds text in any encoding), then the case-insensitive UTF-8 text.
  return bytes.includes(needle) || bytes.toString('utf8').toLowerCase().includes(needle);
}
