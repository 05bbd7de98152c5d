/**
 * The heads of OPEN and RESPONSE frames on the wire. Their payloads, on every request's path, are
 * fields joined by LF and written as latin1, which costs a third of JSON. HTTP fields are octets and none may hold a LF (RFC 9112), so the
 * separator is unambiguous; a peer that slips one in anyway sends a head that fails the checks.
 *
 *     OPEN      method LF path LF remote LF flags LF name LF value LF …   (flags: "", "body" or "upgrade")
 *     RESPONSE  status LF reason LF name LF value LF …
 */

import { validateHeaderName, validateHeaderValue } from 'node:http';
import { type Frame, FrameType, HEADER_BYTES, ProtocolError, type RequestHead, type ResponseHead, writeHeader } from './protocol.js';

/** An OPEN frame carrying `head`; a field with a LF or a character latin1 cannot carry has it replaced with `?`. */
export function encodeRequestHead(stream: number, head: RequestHead): Buffer {
  const flags = head.upgrade ? 'upgrade' : head.body ? 'body' : '';
  return encodeFields(FrameType.Open, stream, [head.method, head.path, head.remote ?? '', flags, ...head.headers]);
}

/** An OPEN frame's head (encodeRequestHead's format); throws ProtocolError for a malformed one. */
export function decodeRequestHead(frame: Frame): RequestHead {
  const [method, path, remote, flags, ...headers] = decodeFields(frame);
  if (!method || path === undefined || flags === undefined || headers.length % 2 !== 0 || !REQUEST_FLAGS.has(flags)) {
    throw new ProtocolError(`OPEN on stream ${frame.stream} lacks method, path or headers`);
  }
  const head: RequestHead = { method, path, headers };
  if (remote) head.remote = remote;
  if (flags === 'body') head.body = true;
  if (flags === 'upgrade') head.upgrade = true;
  return head;
}

/** A RESPONSE frame carrying `head`. A reason phrase that is not plain latin1 text (a dev server's UTF-8 one) is left out. */
export function encodeResponseHead(stream: number, head: ResponseHead): Buffer {
  const reason = head.statusText && REASON_TEXT.test(head.statusText) ? head.statusText : '';
  return encodeFields(FrameType.Response, stream, [String(head.status), reason, ...head.headers]);
}

/** A RESPONSE frame's head (encodeResponseHead's format); throws ProtocolError for a malformed one. */
export function decodeResponseHead(frame: Frame): ResponseHead {
  const [statusText, reason, ...headers] = decodeFields(frame);
  const status = Number(statusText);
  if (!/^\d{3}$/.test(statusText) || status < 100 || reason === undefined || headers.length % 2 !== 0) {
    throw new ProtocolError(`RESPONSE on stream ${frame.stream} has no valid status or headers`);
  }
  if (!REASON_TEXT.test(reason)) throw new ProtocolError(`RESPONSE on stream ${frame.stream} has an invalid status text`);
  // The relay writes these to a public client: a CR/LF here would be response splitting.
  for (let i = 0; i < headers.length; i += 2) {
    try {
      validateHeaderName(headers[i]);
      validateHeaderValue(headers[i], headers[i + 1]);
    } catch {
      throw new ProtocolError(`RESPONSE on stream ${frame.stream} has an invalid header ${JSON.stringify(headers[i].slice(0, 40))}`);
    }
  }
  const head: ResponseHead = { status, headers };
  if (reason) head.statusText = reason;
  return head;
}

const REQUEST_FLAGS = new Set(['', 'body', 'upgrade']);
/** RFC 9112 reason-phrase: tab, space, visible ASCII and obs-text. */
const REASON_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Characters a field must not carry: LF separates fields, and latin1 would cut U+010A to a LF. */
const NOT_FIELD_TEXT = /[\n\u0100-\uffff]/g;

function encodeFields(type: FrameType, stream: number, fields: string[]): Buffer {
  let text = fields.join('\n');
  // Node's parsers hand over latin1 without LF; anything else is replaced rather than split a field.
  if (!isFieldText(text, fields.length)) text = fields.map((f) => f.replace(NOT_FIELD_TEXT, '?')).join('\n');
  const frame = Buffer.allocUnsafe(HEADER_BYTES + text.length);
  writeHeader(frame, type, stream, text.length);
  frame.write(text, HEADER_BYTES, 'latin1');
  return frame;
}

/** True when `text` holds one LF between each of `count` fields and nothing latin1 cannot carry. */
function isFieldText(text: string, count: number): boolean {
  let separators = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) separators++;
  return separators === count - 1 && !/[\u0100-\uffff]/.test(text);
}

function decodeFields(frame: Frame): string[] {
  return frame.payload.toString('latin1').split('\n');
}
