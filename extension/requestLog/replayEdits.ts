/**
 * Edit and Replay: the request a person edited in the request log (method, path, headers as
 * `Name: value` lines, body as text), checked and turned into the request the agent sends. The page
 * is not trusted to have checked anything; every mistake comes back as a sentence.
 */
import type { ReplayRequest, RequestRecord } from '../agent/requestRecord.js';
import { MAX_CAPTURE_BYTES } from '../agent/requestRecord.js';
import { formatBytes } from '../../core/text.js';

export interface ReplayEdits {
  method: string;
  path: string;
  /** One header a line, `Name: value`; blank lines are ignored. */
  headers: string;
  /** The body as text; undefined sends the logged body unchanged. */
  body?: string;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what a header value may not hold
const BAD_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: a request target holds no spaces or control characters
const BAD_PATH = /[\s\u0000-\u001f\u007f]/;

/** The edits from a page message, if it has the right shape. */
export function readEdits(value: unknown): ReplayEdits | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { method, path, headers, body } = value as Record<string, unknown>;
  if (typeof method !== 'string' || typeof path !== 'string' || typeof headers !== 'string') return undefined;
  if (body !== undefined && typeof body !== 'string') return undefined;
  return { method, path, headers, body };
}

/** The request to send for a logged one, as it was (no edits) or edited; a string says what is wrong. */
export function replayRequest(original: RequestRecord, edits?: ReplayEdits): ReplayRequest | string {
  if (!edits) {
    if (original.requestBodyTruncated) {
      return `This request's body (${formatBytes(original.requestBytes)}) was larger than the ${formatBytes(original.requestBody.length)} kept, so it cannot be replayed exactly. Use Edit and Replay to send a body of your own.`;
    }
    return { method: original.method, path: original.path, headers: original.requestHeaders, body: original.requestBody };
  }
  const method = edits.method.trim();
  if (!TOKEN.test(method)) return `“${method}” is not an HTTP method: use letters only, like GET or POST.`;
  const path = edits.path.trim();
  if (!(path.startsWith('/') || (path === '*' && method === 'OPTIONS')) || BAD_PATH.test(path)) {
    return `The path must start with “/” and hold no spaces or control characters (encode them, e.g. %20): “${path.slice(0, 100)}”.`;
  }
  const headers: string[] = [];
  for (const [i, line] of edits.headers.split(/\r?\n/).entries()) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line.trim() : line.slice(0, colon).trim();
    const value = colon < 0 ? '' : line.slice(colon + 1).trim();
    if (colon < 0 || !TOKEN.test(name)) return `Header line ${i + 1} is not “Name: value”: “${line.slice(0, 100)}”.`;
    if (BAD_VALUE.test(value)) return `The value of ${name} (line ${i + 1}) holds a control character.`;
    headers.push(name, value);
  }
  if (edits.body === undefined && original.requestBodyTruncated) {
    return 'The logged body was cut, so it cannot be sent as it was: type the body to send.';
  }
  const body = edits.body === undefined ? original.requestBody : Buffer.from(edits.body, 'utf8');
  if (body.length > MAX_CAPTURE_BYTES)
    return `The body is ${formatBytes(body.length)}; Edit and Replay sends at most ${formatBytes(MAX_CAPTURE_BYTES)}.`;
  return { method, path, headers, body };
}
