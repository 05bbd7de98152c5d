/**
 * What a captured body is and how to show it: decoded from its Content-Encoding, classified
 * (JSON, form, markup, text, image, binary), and turned into the views the inspector offers —
 * highlighted, raw text, hex, or an image. No vscode imports: the CLI's HAR export uses it too.
 */
import zlib from 'node:zlib';
import { formatBytes } from '../../core/text.js';
import { highlight, type Language, type Token } from './highlight.js';

/** Longest text shown for one body; a cut is always said. Decoded bodies can be far larger than the capture. */
const MAX_TEXT_CHARS = 1_000_000;
/** Bytes shown in the hex view. */
export const MAX_HEX_BYTES = 64 * 1024;
/** A decompression bomb stops here. */
const MAX_DECODED_BYTES = 16 * 1024 * 1024;

/** A header's value (the first, by case-insensitive name) from raw headers, name and value alternating. */
export function headerValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toLowerCase() === name) return raw[i + 1];
  return undefined;
}

export interface DecodedBody {
  bytes: Buffer;
  /** The encodings undone, e.g. ['gzip']; empty for an identity body. */
  decoded: string[];
  /** Why the body is still encoded, for a person; undefined when it is decoded (or never was). */
  problem?: string;
}

/**
 * Undoes Content-Encoding (gzip, x-gzip, deflate, br, and zstd where this Node has it), last applied
 * first. A capture cut mid-stream still yields everything decodable so far.
 */
export function decodeBody(captured: Buffer, contentEncoding: string | undefined): DecodedBody {
  const encodings = (contentEncoding ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e && e !== 'identity');
  let bytes = captured;
  const decoded: string[] = [];
  for (const encoding of encodings.reverse()) {
    const result = decodeOne(bytes, encoding);
    if (typeof result === 'string') return { bytes, decoded, problem: result };
    bytes = result;
    decoded.push(encoding);
  }
  return { bytes, decoded };
}

type ZstdZlib = typeof zlib & { zstdDecompressSync?: (data: Buffer, options?: zlib.ZlibOptions) => Buffer };

function decodeOne(data: Buffer, encoding: string): Buffer | string {
  const flush = { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: MAX_DECODED_BYTES };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.gunzipSync(data, flush);
    if (encoding === 'deflate') return inflateEither(data, flush);
    if (encoding === 'br') {
      return zlib.brotliDecompressSync(data, { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH, maxOutputLength: MAX_DECODED_BYTES });
    }
    if (encoding === 'zstd') {
      const zstd = (zlib as ZstdZlib).zstdDecompressSync;
      if (!zstd) return `zstd-compressed; this Node (${process.version}) cannot decode zstd (Node 22.15 and newer can)`;
      return zstd(data, { maxOutputLength: MAX_DECODED_BYTES });
    }
    return `${encoding}-encoded, which Porthole cannot decode`;
  } catch (error) {
    return `${encoding}-compressed, but it does not decode (${(error as Error).message})`;
  }
}

/** `deflate` is meant to be zlib-wrapped, but some servers send raw deflate. */
function inflateEither(data: Buffer, options: zlib.ZlibOptions): Buffer {
  try {
    return zlib.inflateSync(data, options);
  } catch {
    return zlib.inflateRawSync(data, options);
  }
}

export type BodyKind = 'json' | 'form' | 'html' | 'xml' | 'text' | 'image' | 'binary';

const RASTER_IMAGES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'image/x-icon',
  'image/vnd.microsoft.icon',
]);
const TEXT_TYPES = /^(text\/|application\/(javascript|ecmascript|graphql|x-ndjson|x-sh|x-yaml|yaml|toml|sql)\b)/;
const BINARY_TYPES = /^(image\/|audio\/|video\/|font\/|application\/(octet-stream|pdf|zip|gzip|wasm|x-protobuf|protobuf|msgpack|grpc)\b)/;

/** The MIME type without parameters, lower case: `application/json`. */
export function mimeType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** What a body is, from its Content-Type and, when that says little, its bytes. */
export function bodyKind(contentType: string | undefined, bytes: Buffer, truncated: boolean): BodyKind {
  const type = mimeType(contentType);
  if (/[/+]json$/.test(type) || type === 'application/x-ndjson') return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'html';
  if (/[/+]xml$/.test(type)) return 'xml';
  if (RASTER_IMAGES.has(type)) return 'image';
  if (TEXT_TYPES.test(type)) return 'text';
  if (BINARY_TYPES.test(type)) return 'binary';
  return looksLikeUtf8Text(bytes, truncated) ? 'text' : 'binary';
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

/** Everything the inspector can show of one body. Strings and tokens only: the page makes text nodes of them. */
export interface BodyView {
  kind: BodyKind | 'empty';
  /** What it is, for a person: "JSON · 1.2 KiB · gzip-compressed". */
  summary: string;
  /** Said when the capture or the view was cut: "Only the first 256 KiB of 1.2 MiB were kept." */
  cut?: string;
  /** Highlighted text (JSON pretty-printed, form fields one per line), for text kinds. */
  pretty?: Token[];
  /** The decoded text as sent, for text kinds. */
  raw?: string;
  /** A hex dump of the decoded bytes (the first MAX_HEX_BYTES). */
  hex?: string;
  /** A data: URL of a raster image (never SVG, never script). */
  image?: string;
  /** The body as an editable text for Edit and Replay; undefined when it cannot be edited as text. */
  editable?: string;
}

const KIND_LABELS: Record<BodyKind, string> = {
  json: 'JSON',
  form: 'Form data',
  html: 'HTML',
  xml: 'XML',
  text: 'Text',
  image: 'Image',
  binary: 'Binary',
};

export function bodyView(captured: Buffer, headers: readonly string[], totalBytes: number, truncated: boolean): BodyView {
  if (totalBytes === 0 && captured.length === 0) return { kind: 'empty', summary: 'No body' };
  const contentType = headerValue(headers, 'content-type');
  const { bytes, decoded, problem } = decodeBody(captured, headerValue(headers, 'content-encoding'));
  const facts = [formatBytes(totalBytes)];
  if (decoded.length) facts.push(`${decoded.join(', ')}-compressed, ${formatBytes(bytes.length)} decoded`);
  const cuts = truncated
    ? [`Only the first ${formatBytes(captured.length)} of ${formatBytes(totalBytes)} were kept (porthole.requestLog.captureBytes).`]
    : [];
  const type = mimeType(contentType);
  if (problem) {
    return {
      kind: 'binary',
      summary: [type || 'Binary', problem, ...facts].join(' · '),
      cut: cuts.join(' ') || undefined,
      hex: hexDump(captured),
    };
  }
  const kind = bodyKind(contentType, bytes, truncated);
  const summary = [KIND_LABELS[kind] + (type && kind !== 'json' ? ` (${type})` : ''), ...facts].join(' · ');
  const hex = hexDump(bytes);
  if (kind === 'binary') return { kind, summary, cut: cuts.join(' ') || undefined, hex };
  if (kind === 'image') {
    return { kind, summary, cut: cuts.join(' ') || undefined, hex, image: `data:${type};base64,${bytes.toString('base64')}` };
  }
  let text = bytes.toString('utf8');
  const editable = decoded.length === 0 && !truncated ? text : undefined;
  if (text.length > MAX_TEXT_CHARS) {
    text = text.slice(0, MAX_TEXT_CHARS);
    cuts.push(`The view shows the first ${MAX_TEXT_CHARS.toLocaleString('en')} characters.`);
  }
  return { kind, summary, cut: cuts.join(' ') || undefined, pretty: prettyTokens(text, kind, truncated), raw: text, hex, editable };
}

function prettyTokens(text: string, kind: BodyKind, truncated: boolean): Token[] {
  if (kind === 'json') return highlight(prettyJson(text, truncated), 'json');
  if (kind === 'form') return prettyForm(text);
  const language: Language = kind === 'html' || kind === 'xml' ? 'markup' : 'text';
  return highlight(text, language);
}

/** JSON indented by two; newline-delimited JSON line by line; text that does not parse stays as it is. */
function prettyJson(text: string, truncated: boolean): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    if (truncated || !text.includes('\n')) return text;
    try {
      return text
        .split('\n')
        .map((line) => (line.trim() ? JSON.stringify(JSON.parse(line), null, 2) : line))
        .join('\n');
    } catch {
      return text;
    }
  }
}

/** `a=1&b=x%20y` as one decoded field a line: `a = 1`, `b = x y` (decoded values may hold `&` and `=`). */
function prettyForm(text: string): Token[] {
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      return part;
    }
  };
  const tokens: Token[] = [];
  for (const [i, pair] of text.split('&').entries()) {
    if (i > 0) tokens.push(['text', '\n']);
    const eq = pair.indexOf('=');
    tokens.push(['key', decode(eq < 0 ? pair : pair.slice(0, eq))]);
    if (eq >= 0) tokens.push(['punct', ' = '], ['string', decode(pair.slice(eq + 1))]);
  }
  return tokens.filter(([, t]) => t);
}

/** `00000000  7b 22 61 22 3a 31 7d 0a  ...  |{"a":1}.|`: offset, 16 bytes, and their printable ASCII. */
export function hexDump(bytes: Buffer): string {
  const shown = bytes.subarray(0, MAX_HEX_BYTES);
  const lines: string[] = [];
  for (let offset = 0; offset < shown.length; offset += 16) {
    const row = shown.subarray(offset, offset + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ').padEnd(23);
    const right = hex.slice(8).join(' ').padEnd(23);
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${left}  ${right}  |${ascii}|`);
  }
  if (bytes.length > shown.length)
    lines.push(`… the hex view shows the first ${formatBytes(MAX_HEX_BYTES)} of ${formatBytes(bytes.length)}`);
  return lines.join('\n');
}
