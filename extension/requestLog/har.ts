/**
 * HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) of logged requests as the visitor saw
 * them (headers before and after any mapping by the agent), with bodies as captured: response
 * content decoded from its Content-Encoding (as browsers export it), binary bodies in base64. A body
 * cut at capture keeps its whole size in `size` and `bodySize` (as Firefox exports a body past its
 * limit) and says so in its `comment`. No vscode imports: the extension's Export HAR and the CLI's
 * `--har FILE` both build their file here, as text one entry at a time (harJson).
 */
import { STATUS_CODES } from 'node:http';
import { formatBytes } from '../../core/text.js';
import { VERSION } from '../../core/version.js';
import type { RequestRecord } from '../agent/requestRecord.js';
import { decodeBody, headerValue, looksLikeUtf8Text } from './body.js';

export interface HarNameValue {
  name: string;
  value: string;
  comment?: string;
}

export interface HarCookie extends HarNameValue {
  path?: string;
  domain?: string;
  expires?: string;
  httpOnly?: boolean;
  secure?: boolean;
}

export interface HarContent {
  size: number;
  compression?: number;
  mimeType: string;
  text?: string;
  encoding?: 'base64';
  comment?: string;
}

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: HarCookie[];
    headers: HarNameValue[];
    queryString: HarNameValue[];
    postData?: { mimeType: string; text: string; encoding?: 'base64'; comment?: string };
    headersSize: number;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: HarCookie[];
    headers: HarNameValue[];
    content: HarContent;
    redirectURL: string;
    headersSize: number;
    bodySize: number;
    _error?: string;
  };
  cache: Record<string, never>;
  timings: { send: number; wait: number; receive: number };
  comment?: string;
}

export interface Har {
  log: { version: '1.2'; creator: { name: string; version: string }; entries: HarEntry[] };
}

/** One logged request and the URL it was sent to, without the path: the public URL, or the local server for a replay. */
export interface HarSource {
  record: RequestRecord;
  baseUrl: string;
}

export interface HarOptions {
  /** How a person keeps more of each body, named where a body was cut: a setting, or a CLI flag. */
  keepMore: string;
}

const CREATOR = { name: 'Porthole', version: VERSION };

/**
 * The HAR document (a Har) as JSON text in pieces, each at most one entry: the text of
 * `JSON.stringify(har, null, 2)`, without ever holding all the bodies in one string (V8 caps a
 * string at about 512 MiB, and a log of big bodies passes that).
 */
export function* harJson(sources: readonly HarSource[], options: HarOptions): Generator<string> {
  yield `{\n  "log": {\n    "version": "1.2",\n    "creator": ${indent(JSON.stringify(CREATOR, null, 2), 4)},\n    "entries": [`;
  for (let i = 0; i < sources.length; i++) {
    yield `${i > 0 ? ',' : ''}\n      ${indent(JSON.stringify(harEntry(sources[i], options), null, 2), 6)}`;
  }
  yield `${sources.length > 0 ? '\n    ' : ''}]\n  }\n}`;
}

/** JSON text nested `spaces` deep; a newline in JSON text is always structure, never inside a string. */
function indent(json: string, spaces: number): string {
  return json.replaceAll('\n', `\n${' '.repeat(spaces)}`);
}

function harEntry({ record, baseUrl }: HarSource, options: HarOptions): HarEntry {
  const url = `${baseUrl.replace(/\/$/, '')}${record.path}`;
  const time = Math.max(0, record.durationMs ?? 0);
  const status = record.error === undefined ? (record.status ?? 0) : 0;
  const entry: HarEntry = {
    startedDateTime: new Date(record.startedAt).toISOString(),
    time,
    request: {
      method: record.method,
      url,
      httpVersion: 'HTTP/1.1',
      cookies: requestCookies(headerValue(record.requestHeaders, 'cookie')),
      headers: nameValues(record.requestHeaders),
      queryString: queryString(url),
      headersSize: -1,
      bodySize: record.requestBytes,
    },
    response: {
      status,
      statusText: record.error ?? STATUS_CODES[status] ?? '',
      httpVersion: 'HTTP/1.1',
      cookies: responseCookies(record.visitorResponseHeaders),
      headers: nameValues(record.visitorResponseHeaders),
      content: content(record, options),
      redirectURL: headerValue(record.visitorResponseHeaders, 'location') ?? '',
      headersSize: -1,
      // What crossed to the visitor: after the agent's compression, when it compressed.
      bodySize: record.compression?.bytes ?? record.responseBytes,
    },
    cache: {},
    timings: { send: 0, wait: time, receive: 0 },
  };
  if (record.error !== undefined) entry.response._error = record.error;
  if (record.requestBytes > 0) entry.request.postData = postData(record, options);
  if (record.replayOf !== undefined) entry.comment = `Replayed from the request log (a replay of request ${record.replayOf}).`;
  return entry;
}

function nameValues(raw: readonly string[]): HarNameValue[] {
  const out: HarNameValue[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push({ name: raw[i], value: raw[i + 1] });
  return out;
}

function queryString(url: string): HarNameValue[] {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}

function requestCookies(header: string | undefined): HarCookie[] {
  if (!header) return [];
  return header
    .split(';')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? { name: pair, value: '' } : { name: pair.slice(0, eq), value: pair.slice(eq + 1) };
    });
}

function responseCookies(raw: readonly string[]): HarCookie[] {
  const cookies: HarCookie[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i].toLowerCase() !== 'set-cookie') continue;
    const [first, ...attributes] = raw[i + 1].split(';').map((part) => part.trim());
    const eq = first.indexOf('=');
    const cookie: HarCookie = eq < 0 ? { name: first, value: '' } : { name: first.slice(0, eq), value: first.slice(eq + 1) };
    for (const attribute of attributes) {
      const [key, ...rest] = attribute.split('=');
      const value = rest.join('=');
      const name = key.toLowerCase();
      if (name === 'path') cookie.path = value;
      else if (name === 'domain') cookie.domain = value;
      else if (name === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expires = new Date(value).toISOString();
      else if (name === 'httponly') cookie.httpOnly = true;
      else if (name === 'secure') cookie.secure = true;
    }
    cookies.push(cookie);
  }
  return cookies;
}

function cutNote(kept: number, total: number, options: HarOptions, encoding = ''): string {
  return `Porthole kept the first ${formatBytes(kept)} of this ${formatBytes(total)}${encoding ? ` ${encoding}-encoded` : ''} body (keep more with ${options.keepMore}).`;
}

/** The request body as sent (HAR's postData is not decoded), text or base64. */
function postData(record: RequestRecord, options: HarOptions): NonNullable<HarEntry['request']['postData']> {
  const body = record.requestBody;
  const data: NonNullable<HarEntry['request']['postData']> = {
    mimeType: headerValue(record.requestHeaders, 'content-type') ?? '',
    text: '',
  };
  if (looksLikeUtf8Text(body, record.requestBodyTruncated)) data.text = body.toString('utf8');
  else {
    data.text = body.toString('base64');
    data.encoding = 'base64';
  }
  if (record.requestBodyTruncated) data.comment = cutNote(body.length, record.requestBytes, options);
  return data;
}

/**
 * The response body decoded from its Content-Encoding where possible, text or base64. `size` is the
 * whole body's, decoded; for a cut body the server encoded, whose decoded size nobody counted, it is
 * the encoded size, and the comment says so.
 */
function content(record: RequestRecord, options: HarOptions): HarContent {
  const mimeType = headerValue(record.responseHeaders, 'content-type') ?? 'x-unknown';
  const captured = record.responseBody;
  if (record.responseBytes === 0) return { size: 0, mimeType };
  const encoding = headerValue(record.responseHeaders, 'content-encoding');
  const { bytes, decoded, problem } = decodeBody(captured, encoding);
  const cut = record.responseBodyTruncated;
  const result: HarContent = { size: cut ? record.responseBytes : bytes.length, mimeType };
  if (decoded.length > 0 && !cut) result.compression = bytes.length - record.responseBytes;
  if (record.compression) result.compression = record.responseBytes - record.compression.bytes;
  if (looksLikeUtf8Text(bytes, record.responseBodyTruncated)) result.text = bytes.toString('utf8');
  else {
    result.text = bytes.toString('base64');
    result.encoding = 'base64';
  }
  const notes = [];
  if (cut && decoded.length > 0) {
    notes.push(
      `${cutNote(captured.length, record.responseBytes, options, decoded.join(', '))} Its decoded size is unknown, so size is the encoded size.`,
    );
  } else if (cut) notes.push(cutNote(captured.length, record.responseBytes, options));
  if (problem) notes.push(`The body is still encoded: ${problem}.`);
  if (notes.length) result.comment = notes.join(' ');
  return result;
}
