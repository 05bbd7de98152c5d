/**
 * Public side of the relay: turns a public HTTP request (or upgrade) into a tunnel stream and the
 * agent's answer back into an HTTP response, with the usual reverse-proxy header hygiene.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProtocolError, type RequestHead, type Reset, type ResponseHead } from '../core/protocol.js';
import { endWithPage, sendPage } from './pages.js';
import { pipeReadable, pipeWritable } from '../core/pipe.js';
import type { TunnelStream } from '../core/stream.js';
import type { Tunnel } from '../core/tunnel.js';
import type { Forwarding } from './admission.js';
import {
  http1Fields,
  hasBody,
  pipeHttp2Body,
  isHttp2,
  isHttp2Response,
  writeHttp2Head,
  type PublicRequest,
  type PublicResponse,
} from './http2.js';

/** Connection-scoped headers (RFC 9110 §7.6.1) that never cross a proxy. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
]);
/** Set by the relay itself; a public client's own values are never passed on. */
const SET_BY_RELAY = new Set([
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'forwarded',
  'x-real-ip',
  'expect',
  // The internal hop between cluster nodes (relay/cluster/hop.ts): never passed to a local server.
  'x-porthole-hop',
  'x-porthole-client',
  'x-porthole-proto',
]);

export const STATUS_FOR_RESET: Record<Reset['code'], [number, string]> = {
  unreachable: [502, 'The local server is unreachable'],
  timeout: [504, 'The local server did not answer in time'],
  cancelled: [502, 'The tunnel closed'],
  internal: [502, 'The tunnel failed on this request'],
};
export const NO_RESPONSE = 'The agent ended the stream without sending a response.';
export const INVALID_HEAD = 'Its status or headers cannot be sent over HTTP/2.';

export interface ForwardContext {
  tunnel: Tunnel;
  subdomain: string;
  /** The host the request named (its Host, an absolute-form target's authority, or HTTP/2's :authority). */
  host: string;
  /** The request target in origin form. */
  path: string;
  proto: 'http' | 'https';
  /** The visitor's address when another cluster node passed the request on; the socket's otherwise. */
  client?: string;
  /** What the access rules change on the way: the link key out of the path, the relay's cookie and password out of the headers. */
  forward: Forwarding;
  /** Called once when the public side is finished, however it ends. */
  onDone(status: number, bytesIn: number, bytesOut: number): void;
}

/**
 * Builds the head the agent sees: the Host the request named, client headers minus hop-by-hop ones,
 * plus X-Forwarded-*; HTTP/1.1 fields from HTTP/2.
 */
export function requestHead(req: PublicRequest, ctx: ForwardContext, upgrade: boolean): RequestHead {
  const dropped = connectionTokens(req.headers.connection);
  const { forward } = ctx;
  let headers: string[];
  if (isHttp2(req)) headers = http1Fields(req, (name, value) => forwardedValue(name, value, dropped, forward));
  else {
    const raw = req.rawHeaders;
    headers = ['Host', ctx.host];
    for (let i = 0; i < raw.length; i += 2) {
      const value = forwardedValue(raw[i].toLowerCase(), raw[i + 1], dropped, forward);
      if (value !== undefined) headers.push(raw[i], value);
    }
  }
  if (upgrade) headers.push('Connection', 'Upgrade', 'Upgrade', req.headers.upgrade ?? 'websocket');
  const remote = ctx.client ?? req.socket.remoteAddress ?? '';
  headers.push('X-Forwarded-For', remote, 'X-Forwarded-Proto', ctx.proto, 'X-Forwarded-Host', ctx.host);
  const head: RequestHead = { method: req.method ?? 'GET', path: forward.target ?? ctx.path, headers, remote };
  if (upgrade) head.upgrade = true;
  else if (hasBody(req)) head.body = true;
  return head;
}

/** A request field's value as the local server gets it (by its lower-case name), or undefined when it does not go on. */
function forwardedValue(name: string, value: string, dropped: ReadonlySet<string>, forward: Forwarding): string | undefined {
  if (HOP_BY_HOP.has(name) || SET_BY_RELAY.has(name) || dropped.has(name)) return undefined;
  if (forward.stripAuthorization && name === 'authorization') return undefined;
  if (forward.dropCookie && name === 'cookie') return withoutCookie(value, forward.dropCookie) || undefined;
  return value;
}

/**
 * Sends a public request through the tunnel and streams the answer back. Everything after the stream
 * opens is guarded by it: an exception fails that one stream (the visitor gets a 502, or a cut
 * connection once the response has started) and is logged by the tunnel's owner.
 */
export function forwardRequest(req: PublicRequest, res: PublicResponse, ctx: ForwardContext): void {
  const head = requestHead(req, ctx, false);
  const stream = ctx.tunnel.openStream(head);
  res.on(
    'close',
    stream.guard(() => {
      ctx.onDone(res.statusCode, stream.sentBytes, stream.receivedBytes);
      // Node stops reporting on a request body once its response is complete, so an upload still
      // going then is abandoned here, as Node's own server discards it.
      if (!stream.isDone)
        stream.reset('cancelled', res.writableFinished ? 'the response ended before the request body' : 'the public client went away');
    }),
  );
  stream.onEnd = () => sendPage(res, 502, 'The agent sent no response', NO_RESPONSE, `Tunnel: ${ctx.subdomain}`);
  stream.onResponse = (answer) => {
    if (answer.status < 200)
      throw new ProtocolError(`RESPONSE on stream ${stream.id} has status ${answer.status}, but no upgrade was asked for`);
    if (isHttp2Response(res)) {
      if (!writeHttp2Head(res, answer.status, responseHeaders(answer))) {
        stream.reset('cancelled', 'the response cannot be sent to the public client');
        return sendPage(res, 502, 'The local server sent an invalid response', INVALID_HEAD, `Tunnel: ${ctx.subdomain}`);
      }
    } else {
      // Bytes past the agent's Content-Length would be read as the next response on this keep-alive
      // connection, and a body short of it would leave the visitor waiting: Node throws instead (below).
      res.strictContentLength = true;
      res.writeHead(answer.status, answer.statusText, responseHeaders(answer));
    }
    pipeWritable(stream, res);
    if (!isHttp2Response(res)) holdToLength(stream);
  };
  stream.onReset = (reset) => {
    if (res.headersSent) return res.destroy();
    const [status, title] = STATUS_FOR_RESET[reset.code];
    sendPage(res, status, title, reset.message, `Tunnel: ${ctx.subdomain}`);
  };
  try {
    // Without a body there is nothing to read: END leaves in the same message as OPEN.
    if (!head.body) stream.end();
    else if (isHttp2(req)) pipeHttp2Body(req, stream);
    else pipeReadable(req, stream);
  } catch (error) {
    stream.fail(error);
  }
}

/**
 * A body that does not match its Content-Length is the agent's doing: the visitor's connection is
 * cut, the agent's stream reset, and it counts as the agent's protocol error; the tunnel serves on.
 */
function holdToLength(stream: TunnelStream): void {
  const checked =
    <A extends unknown[]>(write: ((...args: A) => void) | undefined) =>
    (...args: A) => {
      try {
        write?.(...args);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ERR_HTTP_CONTENT_LENGTH_MISMATCH') throw error;
        stream.fail(new ProtocolError(`the body on stream ${stream.id} does not match its Content-Length: ${(error as Error).message}`));
      }
    };
  stream.onData = checked(stream.onData);
  stream.onEnd = checked(stream.onEnd);
}

/** Sends a public upgrade request (WebSocket) through the tunnel; raw bytes flow once it switches. Guarded as forwardRequest is. */
export function forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: ForwardContext): void {
  const stream = ctx.tunnel.openStream(requestHead(req, ctx, true));
  let status = 0;
  socket.on(
    'error',
    stream.guard(() => stream.reset('cancelled', 'the public client went away')),
  );
  socket.on(
    'close',
    stream.guard(() => {
      ctx.onDone(status, stream.sentBytes, stream.receivedBytes);
      stream.reset('cancelled', 'the public client went away');
    }),
  );
  stream.onEnd = () => {
    status = 502;
    endWithPage(req, socket, 502, 'Bad Gateway', 'The agent sent no response', NO_RESPONSE);
  };
  stream.onResponse = (answer) => {
    if (answer.status < 200 && answer.status !== 101)
      throw new ProtocolError(
        `RESPONSE on stream ${stream.id} has status ${answer.status}: an upgrade is answered with 101 or a final status`,
      );
    status = answer.status;
    const headers = answer.status === 101 ? answer.headers : [...responseHeaders(answer), 'Connection', 'close'];
    const lines = [`HTTP/1.1 ${answer.status} ${answer.statusText ?? ''}`];
    for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    pipeWritable(stream, socket);
  };
  stream.onReset = (reset) => {
    if (status !== 0) return socket.destroy();
    const [code, title] = STATUS_FOR_RESET[reset.code];
    status = code;
    endWithPage(req, socket, code, title, title, reset.message);
  };
  try {
    if (head.length > 0) stream.write(head);
    pipeReadable(socket, stream);
  } catch (error) {
    stream.fail(error);
  }
}

/**
 * Response headers for the public client, hop-by-hop ones removed; repeated ones (Set-Cookie) kept.
 * A cookie's Domain attribute is dropped: the dev server's own domain (localhost) never matches the
 * tunnel's host, and `Domain=<relay domain>` would let one tunnel set cookies for every other.
 */
export function responseHeaders(head: ResponseHead): string[] {
  const dropped = connectionTokens(header(head.headers, 'connection'));
  const out: string[] = [];
  for (let i = 0; i < head.headers.length; i += 2) {
    const name = head.headers[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || dropped.has(name)) continue;
    out.push(head.headers[i], name === 'set-cookie' ? head.headers[i + 1].replace(/;\s*domain=[^;]*/gi, '') : head.headers[i + 1]);
  }
  return out;
}

/** A Cookie header without the pairs named `name`; empty when nothing else is left. */
function withoutCookie(value: string, name: string): string {
  return value
    .split(';')
    .filter((pair) => {
      const eq = pair.indexOf('=');
      return (eq < 0 ? pair : pair.slice(0, eq)).trim() !== name;
    })
    .map((pair) => pair.trim())
    .filter(Boolean)
    .join('; ');
}

function header(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === name) return raw[i + 1];
  return undefined;
}

const NO_TOKENS: ReadonlySet<string> = new Set();
const CLOSE: ReadonlySet<string> = new Set(['close']);

/** The names a Connection header lists, to be removed too; the two common values cost no parsing. */
function connectionTokens(value: string | undefined): ReadonlySet<string> {
  if (!value) return NO_TOKENS;
  const lower = value.toLowerCase();
  if (lower === 'keep-alive') return NO_TOKENS; // hop-by-hop already
  if (lower === 'close') return CLOSE;
  return new Set(
    lower
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
}
