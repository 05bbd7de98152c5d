/**
 * WebSockets over HTTP/2 (RFC 8441). A browser that has seen SETTINGS_ENABLE_CONNECT_PROTOCOL may open
 * a WebSocket as an extended CONNECT stream of the page's own connection. The local server knows only
 * HTTP/1.1 upgrades, so the relay turns the CONNECT into an upgrade request with a handshake key of
 * its own, the server's 101 into a 200, and then carries the WebSocket's bytes, which are the same
 * either way, between the HTTP/2 stream and the tunnel stream.
 */
import { randomBytes } from 'node:crypto';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { pipeWritable } from '../core/pipe.js';
import { pipeHttp2Body, writeHttp2Head } from './http2.js';
import { sendPage } from './pages.js';
import { INVALID_HEAD, NO_RESPONSE, requestHead, responseHeaders, STATUS_FOR_RESET, type ForwardContext } from './proxy.js';

/** Handshake fields that belong to the HTTP/1.1 upgrade and have no place in the HTTP/2 answer. */
const UPGRADE_ONLY = new Set(['sec-websocket-accept', 'upgrade', 'connection']);

/** An extended CONNECT for anything but a WebSocket, or a plain CONNECT: the relay is no forward proxy. */
export function refuseConnect(req: Http2ServerRequest, res: Http2ServerResponse): void {
  const protocol = req.headers[':protocol'];
  if (protocol === undefined) sendPage(res, 405, 'Method not allowed', 'This relay does not tunnel CONNECT requests.');
  else sendPage(res, 501, 'Protocol not supported', `The relay carries WebSockets over HTTP/2, not "${String(protocol)}".`);
}

export function isWebSocketConnect(req: Http2ServerRequest): boolean {
  return req.headers[':protocol'] === 'websocket';
}

/** Sends an RFC 8441 WebSocket through the tunnel as an HTTP/1.1 upgrade; raw bytes flow once it switches. */
export function forwardWebSocketConnect(req: Http2ServerRequest, res: Http2ServerResponse, ctx: ForwardContext): void {
  const head = requestHead(req, ctx, true);
  head.method = 'GET';
  head.headers.push('Sec-WebSocket-Key', randomBytes(16).toString('base64'));
  const stream = ctx.tunnel.openStream(head);
  let status = 0;
  res.on(
    'close',
    stream.guard(() => {
      ctx.onDone(status, stream.sentBytes, stream.receivedBytes);
      if (!stream.isDone) stream.reset('cancelled', 'the public client went away');
    }),
  );
  stream.onEnd = () => {
    status = 502;
    sendPage(res, 502, 'The agent sent no response', NO_RESPONSE, `Tunnel: ${ctx.subdomain}`);
  };
  stream.onResponse = (answer) => {
    const fields = responseHeaders(answer);
    const kept: string[] = [];
    for (let i = 0; i < fields.length; i += 2) if (!UPGRADE_ONLY.has(fields[i].toLowerCase())) kept.push(fields[i], fields[i + 1]);
    // 101 means the local server switched: over HTTP/2 that is any 2xx. Anything else is an ordinary answer.
    status = answer.status === 101 ? 200 : answer.status;
    if (!writeHttp2Head(res, status, kept)) {
      stream.reset('cancelled', 'the response cannot be sent to the public client');
      return sendPage(res, 502, 'The local server sent an invalid response', INVALID_HEAD, `Tunnel: ${ctx.subdomain}`);
    }
    pipeWritable(stream, res);
  };
  stream.onReset = (reset) => {
    if (res.headersSent) return void res.destroy();
    const [code, title] = STATUS_FOR_RESET[reset.code];
    status = code;
    sendPage(res, code, title, reset.message, `Tunnel: ${ctx.subdomain}`);
  };
  try {
    pipeHttp2Body(req, stream);
  } catch (error) {
    stream.fail(error);
  }
}
