/**
 * HTTP/2 for visitors (RFC 9113). The relay's HTTPS listener offers h2 and http/1.1 by ALPN on one
 * port; each HTTP/2 stream becomes one tunnel stream, and the local server still gets HTTP/1.1. This
 * module holds the listener's settings and the translations between the two versions' heads.
 *
 * proxy.ts serves both versions through Node's compatibility API (Http2ServerRequest/Response). Over
 * the raw stream API it costs ~9 µs per request (27 against 18 µs of CPU for a minimal server, with
 * h2load), a tenth of what a request through the tunnel costs; one proxy path is worth that. HTTP/1.1
 * requests never go through it.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerOptions, ServerResponse } from 'node:http';
import http2, { type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { pipeReadable } from '../core/pipe.js';
import type { TunnelStream } from '../core/stream.js';
import { DEFAULT_MAX_HEADER_BYTES } from './config.js';

/** A visitor's request or response, over HTTP/1.1 or HTTP/2 (Node's compatibility API). */
export type PublicRequest = IncomingMessage | Http2ServerRequest;
export type PublicResponse = ServerResponse | Http2ServerResponse;

/**
 * Bytes a visitor may send on one stream before the relay has passed them on (its HTTP/2 receive
 * window). Node acknowledges the connection's window as frames arrive and a stream's only as it is
 * read, so a stream the tunnel holds back stalls alone; 1 MiB per round trip keeps uploads from far
 * away flowing (the 64 KiB default allows 1.6 MB/s at 40 ms).
 */
const STREAM_WINDOW = 1024 * 1024;
/** The connection's receive window: room for many streams' uploads at once. */
const CONNECTION_WINDOW = 16 * 1024 * 1024;
/** Requests in flight on one connection; a tunnel allows 128 (--max-streams) across all of them. */
const MAX_CONCURRENT_STREAMS = 128;
/** Header fields per request (pseudo-headers included); browsers send a few dozen. */
const MAX_HEADER_PAIRS = 256;

/** The HTTPS listener with HTTP/2, and what a shutdown needs that Node's HTTP/2 server lacks. */
export interface Http2Listener {
  server: Http2SecureServer;
  /** GOAWAY to every HTTP/2 visitor: streams in flight finish, new requests go to a new connection. */
  goAway(): void;
  /** Ends every connection, HTTP/2 and HTTP/1.1 alike, at once. */
  closeAllConnections(): void;
}

/** The HTTP/1.1 server options Node's HTTP/2 server does not read itself: its HTTP/1.1 code reads them from the server. */
type Http1Options = Pick<ServerOptions, 'maxHeaderSize' | 'headersTimeout' | 'keepAliveTimeout' | 'connectionsCheckingInterval'>;

/**
 * h2 and http/1.1 by ALPN on one port, with the same options as the relay's HTTP/1.1 servers, and
 * WebSockets over HTTP/2 when `webSockets` (a cluster's internal hop carries HTTP/1.1 upgrades only). Heads
 * up to `maxHeaderSize` pass; up to twice that they reach the relay, which answers 431 as it does on
 * HTTP/1.1 (http2RequestProblem); beyond, nghttp2 resets the stream.
 */
export function createHttp2Listener(
  options: TlsOptions & Http1Options & { noDelay?: boolean; keepAlive?: boolean },
  { webSockets }: { webSockets: boolean },
): Http2Listener {
  const {
    maxHeaderSize = DEFAULT_MAX_HEADER_BYTES,
    headersTimeout,
    keepAliveTimeout,
    connectionsCheckingInterval,
    ...tlsOptions
  } = options;
  const server = http2.createSecureServer({
    ...tlsOptions,
    allowHTTP1: true,
    maxHeaderListPairs: MAX_HEADER_PAIRS,
    settings: {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      initialWindowSize: STREAM_WINDOW,
      maxHeaderListSize: 2 * maxHeaderSize,
      // RFC 8441: WebSockets as streams of the page's connection (websocketOverHttp2.ts). Without it
      // browsers open an HTTP/1.1 connection for each WebSocket, as they do to a relay without HTTP/2.
      enableConnectProtocol: webSockets,
    },
  });
  // Where https.Server stores these from its options; they must be there before it listens
  // (test/integration/http2.test.ts fails, on --max-header-size, if Node changes that).
  const http1: Http1Options = { maxHeaderSize, headersTimeout, keepAliveTimeout, connectionsCheckingInterval };
  for (const [name, value] of Object.entries(http1)) if (value !== undefined) Object.assign(server, { [name]: value });
  const sessions = new Set<ServerHttp2Session>();
  const sockets = new Set<Socket>();
  server.on('session', (session) => {
    session.setLocalWindowSize(CONNECTION_WINDOW);
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    if (keepAliveTimeout) closeWhenIdle(session, keepAliveTimeout);
  });
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    server,
    goAway: () => {
      for (const session of sessions) session.close();
    },
    closeAllConnections: () => {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    },
  };
}

/**
 * HTTP/2's --keep-alive-timeout: a session with no stream open for `ms` gets GOAWAY, as an idle
 * HTTP/1.1 connection is closed. A quiet stream (server-sent events, a WebSocket) keeps it open.
 */
function closeWhenIdle(session: ServerHttp2Session, ms: number): void {
  let open = 0;
  let idle: NodeJS.Timeout | undefined;
  const startIdle = () => {
    idle = setTimeout(() => session.close(), ms);
    idle.unref();
  };
  session.on('stream', (stream) => {
    open++;
    clearTimeout(idle);
    stream.once('close', () => {
      if (--open === 0 && !session.closed) startIdle();
    });
  });
  session.once('close', () => clearTimeout(idle));
  startIdle();
}

/** By what the request is, not the version it claims: an HTTP/1.1 client may write "HTTP/2.0" in its request line. */
export function isHttp2(req: PublicRequest): req is Http2ServerRequest {
  return req instanceof http2.Http2ServerRequest;
}

export function isHttp2Response(res: PublicResponse): res is Http2ServerResponse {
  return 'stream' in res;
}

/** True when an HTTP/2 request has a body: its HEADERS frame did not end the stream, and it did not announce 0 bytes. */
function http2HasBody(req: Http2ServerRequest): boolean {
  return !req.stream.endAfterHeaders && req.headers['content-length'] !== '0';
}

/** True when a request has a body: HTTP/1.1's framing headers say so, or HTTP/2's stream does. */
export function hasBody(req: PublicRequest): boolean {
  if (isHttp2(req)) return http2HasBody(req);
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * Streams an HTTP/2 request body into a tunnel stream, ending it only if the visitor ended the body.
 * Node ends a request's body both on the visitor's END_STREAM and when the stream closes without it
 * (RST_STREAM, a connection gone), and says 'aborted' only while the response is unfinished, with an
 * rstCode of 0 for RST_STREAM(NO_ERROR): neither tells a cut body from a whole one. The stream's
 * `closed` does: Node marks the stream closed before every end it makes up, so a body that ends while
 * its stream is open ended with END_STREAM (on DATA, or on trailers). One that ends on a closed stream
 * was cut, or outlived a complete response, which abandons an upload anyway (proxy.ts).
 */
export function pipeHttp2Body(req: Http2ServerRequest, stream: TunnelStream): void {
  const abandon = () => stream.reset('cancelled', 'the public client went away');
  req.once('aborted', stream.guard(abandon));
  pipeReadable(req, stream, () => (req.stream.closed ? abandon() : stream.end()));
}

/** The host a visitor asked for: HTTP/1.1's Host; HTTP/2's :authority, for which a Host field may stand in. */
export function requestAuthority(req: PublicRequest): string | undefined {
  if (!isHttp2(req)) return req.headers.host;
  return (req.headers[':authority'] as string | undefined) ?? req.headers.host;
}

/**
 * Why an HTTP/2 request cannot be forwarded, or undefined when it can: a Host field naming another
 * host than :authority (RFC 9113 §8.3.1), or a head past the relay's --max-header-size, counted as
 * HTTP/1.1 would count it so that both versions have the same limit. (nghttp2 has already reset the
 * streams of malformed requests, and dropped fields whose values hold NUL, CR or LF.)
 */
export function http2RequestProblem(req: Http2ServerRequest, maxHeaderBytes: number): 'host' | 'size' | undefined {
  const { host } = req.headers;
  const authority = req.headers[':authority'] as string | undefined;
  if (host !== undefined && authority !== undefined && host.toLowerCase() !== authority.toLowerCase()) return 'host';
  const raw = req.rawHeaders;
  let bytes = 0;
  for (let i = 0; i < raw.length; i += 2) bytes += raw[i].length + raw[i + 1].length + 4;
  return bytes > maxHeaderBytes ? 'size' : undefined;
}

/**
 * An HTTP/2 request's fields for the HTTP/1.1 request the local server gets (RFC 9113 §8.2.3, §8.3.1):
 * no pseudo-headers; Host from :authority, first; the cookie crumbs HTTP/2 sends as separate fields
 * joined into one Cookie with "; ". `forwarded` gives each remaining field's value as for HTTP/1.1
 * (lower-case name), or undefined to leave it out.
 */
export function http1Fields(req: Http2ServerRequest, forwarded: (name: string, value: string) => string | undefined): string[] {
  const raw = req.rawHeaders;
  const fields: string[] = ['Host', requestAuthority(req) ?? ''];
  let cookies: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name[0] === ':' || name === 'host') continue;
    if (name === 'cookie') {
      cookies = cookies === undefined ? raw[i + 1] : `${cookies}; ${raw[i + 1]}`;
      continue;
    }
    const value = forwarded(name, raw[i + 1]);
    if (value !== undefined) fields.push(name, value);
  }
  const cookie = cookies === undefined ? undefined : forwarded('cookie', cookies);
  if (cookie !== undefined) fields.push('Cookie', cookie);
  return fields;
}

/**
 * Writes an HTTP/2 response head from response fields (hop-by-hop ones already removed). False when
 * Node refuses it (a status HTTP/2 cannot carry, such as 101), with nothing of it left behind for the
 * error page that follows.
 */
export function writeHttp2Head(res: Http2ServerResponse, status: number, fields: string[]): boolean {
  try {
    res.writeHead(status, http2ResponseHeaders(fields));
    return true;
  } catch {
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    return false;
  }
}

/**
 * Response fields (hop-by-hop ones already removed) as an HTTP/2 header object. Names go lower-case
 * (RFC 9113 §8.2.2). A field the local server repeated is joined with commas (RFC 9110 §5.3), and an
 * exact repeat dropped: Node refuses two values for single-valued fields such as Content-Type. Set-Cookie
 * cannot be joined (RFC 6265) and stays a list of values.
 */
export function http2ResponseHeaders(fields: string[]): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = Object.create(null);
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i].toLowerCase();
    const value = fields[i + 1];
    const previous = headers[name];
    if (previous === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(previous)) previous.push(value);
    else if (previous !== value) headers[name] = `${previous}, ${value}`;
  }
  return headers;
}
