/**
 * Copy as cURL: a logged request as a shell command that sends it to the share's public URL again,
 * byte for byte — method, path, every header the visitor sent, the body — and nothing curl would add
 * on its own (User-Agent, Accept, Content-Type for --data). A body that is not plain text (binary,
 * compressed, or cut at capture) cannot travel on a command line: the command reads it from a file,
 * and a comment above it says so.
 */
import { formatBytes } from '../../core/text.js';
import type { RequestRecord } from '../agent/requestRecord.js';
import { headerValue, looksLikeUtf8Text } from './body.js';

/** Set by the relay on every request it forwards, so sending them again would only duplicate them. */
const SET_BY_RELAY = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'host', 'content-length']);
/** curl sends these unless told not to (an empty `-H 'Name:'` removes one). */
const CURL_DEFAULTS = ['User-Agent', 'Accept'];
/** The file the command reads a binary body from. */
const CURL_BODY_FILE = 'body.bin';

export interface CurlOptions {
  /** `user:password` of a password-protected share: the relay strips the visitor's Authorization header. */
  basicAuth?: string;
  /** The private link of a private share: its key goes into the query, where the relay takes it out again. */
  privateLink?: string;
}

/** `baseUrl`: the share's public URL, e.g. `https://myapp.example.dev`. */
export function toCurl(record: RequestRecord, baseUrl: string, options: CurlOptions = {}): string {
  const url = withLinkKey(`${baseUrl.replace(/\/$/, '')}${record.path}`, options.privateLink);
  /** One option (with its value) a line. */
  const args: string[] = [];
  const comments: string[] = [];
  const body = record.requestBody;
  const hasBody = record.requestBytes > 0;
  const textBody =
    hasBody && !record.requestBodyTruncated && !headerValue(record.requestHeaders, 'content-encoding') && looksLikeUtf8Text(body, false);

  if (record.method === 'HEAD' && !hasBody) args.push('--head');
  else if (!(record.method === 'GET' && !hasBody) && !(record.method === 'POST' && hasBody)) args.push(`-X ${quote(record.method)}`);
  if (/[[\]{}]/.test(record.path)) args.push('--globoff');
  if (/(^|\/)\.\.?(\/|$|\?)/.test(record.path)) args.push('--path-as-is');
  for (let i = 0; i + 1 < record.requestHeaders.length; i += 2) {
    const name = record.requestHeaders[i];
    if (SET_BY_RELAY.has(name.toLowerCase())) continue;
    args.push(`-H ${quote(`${name}: ${record.requestHeaders[i + 1]}`)}`);
  }
  for (const name of CURL_DEFAULTS)
    if (headerValue(record.requestHeaders, name.toLowerCase()) === undefined) args.push(`-H ${quote(`${name}:`)}`);
  if (options.basicAuth) args.push(`--user ${quote(options.basicAuth)}`);
  // The relay answers a GET or HEAD that carries the key with a redirect that sets its cookie.
  if (options.privateLink && (record.method === 'GET' || record.method === 'HEAD')) args.push('--location', '--cookie-jar /dev/null');
  if (hasBody) {
    // With a body, curl adds a form Content-Type when none is given, and Expect: 100-continue past 1 MiB.
    if (headerValue(record.requestHeaders, 'content-type') === undefined) args.push(`-H ${quote('Content-Type:')}`);
    if (record.requestBytes > 1024 * 1024) args.push(`-H ${quote('Expect:')}`);
    if (textBody) {
      args.push(`--data-raw ${quote(body.toString('utf8'))}`);
    } else {
      const why = record.requestBodyTruncated
        ? `was cut at ${formatBytes(body.length)} when it was logged (porthole.requestLog.captureBytes)`
        : 'is not plain text';
      comments.push(
        `# The request body (${formatBytes(record.requestBytes)}) ${why}: save it as ${CURL_BODY_FILE} next to where you run this.`,
      );
      args.push(`--data-binary @${CURL_BODY_FILE}`);
    }
  }
  args.push(quote(url));
  return [...comments, ['curl', ...args].join(' \\\n  ')].join('\n');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters other than tab and newline need $'…' escapes
const NEEDS_ESCAPES = /[\u0000-\u0008\u000b-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: what $'…' escapes: backslash, quote and control characters
const ESCAPED = /[\\'\u0000-\u001f\u007f]/g;

/** `url` with the key of `privateLink` added to its query (the relay strips it before the local server). */
function withLinkKey(url: string, privateLink: string | undefined): string {
  if (!privateLink) return url;
  const key = new URL(privateLink).search.slice(1);
  if (!key) return url;
  const hash = url.indexOf('#');
  const [base, fragment] = hash < 0 ? [url, ''] : [url.slice(0, hash), url.slice(hash)];
  return `${base}${base.includes('?') ? '&' : '?'}${key}${fragment}`;
}

/**
 * A shell word for any text: single quotes when it holds only printable characters, newlines and
 * tabs; otherwise bash's $'…' with escapes, so control characters survive a clipboard.
 */
export function quote(text: string): string {
  if (!NEEDS_ESCAPES.test(text)) return `'${text.replace(/'/g, `'\\''`)}'`;
  const escaped = text.replace(ESCAPED, (c) => {
    if (c === '\\' || c === "'") return `\\${c}`;
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `$'${escaped}'`;
}
