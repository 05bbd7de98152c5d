/**
 * Host-rewrite mode tells the local server it is at its own address (`Host: localhost:5173`) while
 * visitors use the public one (`https://myapp.example.dev`). An OriginMap keeps both views coherent
 * in the few headers that name an origin:
 *
 * - responses: `Location`, `Content-Location`, `Refresh` and `Access-Control-Allow-Origin` that point
 *   at the local server (any loopback spelling of it, either scheme, its port) point at the public
 *   origin instead, path and query kept. Relative references and other origins stay as they are.
 * - requests: an `Origin`, or a `Referer`, on the public origin names the local origin instead, so
 *   the server's same-origin checks (CSRF, HMR sockets) compare like with like. A cross-site one is
 *   never touched, so the server can still refuse a real cross-site post.
 *
 * Bodies are never rewritten. This sits on the data path: a header list with nothing to map comes
 * back as the same array, without a copy.
 */

import { canonicalHost, reachesThisMachine } from '../../core/addresses.js';

/** Raw headers, name and value alternating, as Node and undici give them. */
export type RawHeaders = string[];

/** The parts of an absolute URL's authority, by index into the string they came from. */
interface Authority {
  /** Index of the first character of the scheme, or of `//` for a scheme-relative reference. */
  start: number;
  /** Lower-case scheme without `:`; empty for a scheme-relative reference. */
  scheme: string;
  /** `user:password@`, or empty. */
  userinfo: string;
  /** Host as written, brackets kept for IPv6. */
  host: string;
  /** Port as written, empty for the scheme's default. */
  port: string;
  /** Index just past the authority: the path, query or fragment starts here. */
  end: number;
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443 };

export class OriginMap {
  /** e.g. `http://localhost:5173`: what the local server believes it is. */
  readonly localOrigin: string;
  /** e.g. `https://myapp.example.dev`: what the visitor's browser sees. */
  readonly publicOrigin: string;
  private readonly localScheme: string;
  private readonly localHost: string;
  private readonly localPort: number;
  /** The target is on this machine, so every spelling of this machine names it. */
  private readonly localIsThisMachine: boolean;
  private readonly publicScheme: string;
  private readonly publicHost: string;
  private readonly publicPort: number;

  /** `local`: the target the agent forwards to; `publicUrl`: the share's URL, as the relay gave it. */
  constructor(local: URL, publicUrl: URL) {
    this.localOrigin = local.origin;
    this.publicOrigin = publicUrl.origin;
    this.localScheme = local.protocol.slice(0, -1);
    this.localHost = canonicalHost(local.hostname) ?? local.hostname;
    this.localPort = effectivePort(this.localScheme, local.port);
    this.localIsThisMachine = reachesThisMachine(this.localHost);
    this.publicScheme = publicUrl.protocol.slice(0, -1);
    this.publicHost = canonicalHost(publicUrl.hostname) ?? publicUrl.hostname;
    this.publicPort = effectivePort(this.publicScheme, publicUrl.port);
  }

  // Bound once here, so the per-request path hands them on without allocating a closure.

  /** Request headers as the local server should see them; `raw` itself when nothing changes. */
  readonly request = (raw: RawHeaders): RawHeaders => mapValues(raw, this.requestValue);

  /** Response headers as the visitor should see them; `raw` itself when nothing changes. */
  readonly response = (raw: RawHeaders): RawHeaders => mapValues(raw, this.responseValue);

  /** One request header's value for the local server: `value` itself unless it names the public origin. */
  readonly requestValue = (name: string, value: string): string => {
    if (!isHeader(name, 'origin') && !isHeader(name, 'referer')) return value;
    const end = this.publicOriginEnd(value);
    return end < 0 ? value : this.localOrigin + value.slice(end);
  };

  /** One response header's value for the visitor: `value` itself unless it points at the local server. */
  readonly responseValue = (name: string, value: string): string => {
    if (isHeader(name, 'location') || isHeader(name, 'content-location') || isHeader(name, 'access-control-allow-origin')) {
      return this.toPublic(value, 0);
    }
    if (isHeader(name, 'refresh')) {
      const url = refreshUrlStart(value);
      return url < 0 ? value : this.toPublic(value, url);
    }
    return value;
  };

  private toPublic(value: string, from: number): string {
    const authority = parseAuthority(value, from);
    if (!authority || !this.isLocal(authority)) return value;
    const userinfo = authority.userinfo ? this.publicOrigin.replace('://', `://${authority.userinfo}`) : this.publicOrigin;
    return value.slice(0, authority.start) + userinfo + value.slice(authority.end);
  }

  /**
   * The local server, however it was spelled: the server also hears `X-Forwarded-Proto`, so a URL it
   * builds may say https for an http target; on the target's port that can only be this server.
   * A scheme-relative `//localhost/…` has the scheme the server itself speaks.
   */
  private isLocal(a: Authority): boolean {
    if (a.scheme !== '' && a.scheme !== 'http' && a.scheme !== 'https') return false;
    if (effectivePort(a.scheme || this.localScheme, a.port) !== this.localPort) return false;
    const host = canonicalHost(a.host);
    return host !== undefined && (host === this.localHost || (this.localIsThisMachine && reachesThisMachine(host)));
  }

  /**
   * Where the public origin ends in `value`, or -1 when `value` is on another origin. Browsers send
   * it exactly as the public origin reads, so that is tried first, without parsing.
   */
  private publicOriginEnd(value: string): number {
    const n = this.publicOrigin.length;
    if (value.startsWith(this.publicOrigin) && (value.length === n || isAuthorityEnd(value.charCodeAt(n)))) return n;
    const a = parseAuthority(value, 0);
    if (!a || a.scheme !== this.publicScheme || a.userinfo !== '' || effectivePort(a.scheme, a.port) !== this.publicPort) return -1;
    return canonicalHost(a.host) === this.publicHost ? a.end : -1;
  }
}

/** Applies `map` to every value; copies the array only once a value changes. */
function mapValues(raw: RawHeaders, map: (name: string, value: string) => string): RawHeaders {
  let out: RawHeaders | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const value = raw[i + 1];
    const mapped = map(raw[i], value);
    if (mapped !== value) {
      out ??= raw.slice();
      out[i + 1] = mapped;
    }
  }
  return out ?? raw;
}

/** Case-insensitive header name test; the length check first keeps the common miss cheap. */
function isHeader(name: string, lowerCase: string): boolean {
  return name.length === lowerCase.length && (name === lowerCase || name.toLowerCase() === lowerCase);
}

/**
 * Parses `scheme://authority` or `//authority` at `from`; undefined for a relative reference or
 * anything else.
 */
function parseAuthority(value: string, from: number): Authority | undefined {
  let i = from;
  let scheme = '';
  if (!value.startsWith('//', i)) {
    const colon = value.indexOf(':', i);
    if (colon <= i || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(value.slice(i, colon)) || !value.startsWith('//', colon + 1)) return undefined;
    scheme = value.slice(i, colon).toLowerCase();
    i = colon;
  }
  const authorityStart = i + (scheme ? 3 : 2);
  let end = authorityStart;
  while (end < value.length && !isAuthorityEnd(value.charCodeAt(end))) end++;
  const at = value.lastIndexOf('@', end - 1);
  const hostStart = at >= authorityStart ? at + 1 : authorityStart;
  let portColon = -1;
  if (value[hostStart] === '[') {
    const close = value.indexOf(']', hostStart);
    if (close < 0 || close >= end) return undefined;
    if (close + 1 < end) {
      if (value[close + 1] !== ':') return undefined;
      portColon = close + 1;
    }
  } else {
    portColon = value.indexOf(':', hostStart);
    if (portColon >= end) portColon = -1;
  }
  const hostEnd = portColon < 0 ? end : portColon;
  const port = portColon < 0 ? '' : value.slice(portColon + 1, end);
  if (!/^\d*$/.test(port) || hostEnd === hostStart) return undefined;
  return { start: from, scheme, userinfo: value.slice(authorityStart, hostStart), host: value.slice(hostStart, hostEnd), port, end };
}

/**
 * Browsers end an authority at `/`, `?`, `#` and, in http(s) URLs, `\`; a quote or space ends the URL
 * itself in a `Refresh` value.
 */
function isAuthorityEnd(code: number): boolean {
  return code === 0x2f || code === 0x3f || code === 0x23 || code === 0x5c || code === 0x22 || code === 0x27 || code === 0x20;
}

function effectivePort(scheme: string, port: string): number {
  return port === '' ? (DEFAULT_PORTS[scheme] ?? -1) : Number(port);
}

/**
 * Where the URL starts in a `Refresh` value (`5; url=/next`, `0;URL='https://…'`), or -1 when it has
 * none. The HTML standard's grammar: a delay, then `;` or `,`, spaces, optionally `url=`, optionally a quote.
 */
function refreshUrlStart(value: string): number {
  const match = /^\s*[\d.]+\s*[;,]?\s*(?:url\s*=\s*)?["']?/i.exec(value);
  if (!match || match[0].length === value.length) return -1;
  return match[0].length;
}
