/**
 * The relay's listeners as Node servers: plain HTTP always; with TLS, HTTPS beside it, offering
 * HTTP/2 by ALPN unless --no-http2 (http2.ts). All with the relay's limits on heads and time
 * (--max-header-size, --head-timeout, --keep-alive-timeout); a head Node cannot parse gets a short
 * answer here. What the listeners serve is wired in server.ts.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RelayConfig } from './config.js';
import { createHttp2Listener } from './http2.js';
import type { ConnectionTimeout } from './metrics.js';
import { HEADERS_TOO_LARGE, rawPage } from './pages.js';
import { StartupError } from './startupError.js';
import type { SniCallback } from './tls/source.js';

/** How often Node checks its connections for the head timeout (its default, 30 s, would let a head take 40). */
const TIMEOUT_CHECK_MS = 1_000;

export interface Listeners {
  http: http.Server;
  /** With TLS: HTTPS, with HTTP/2 or without. */
  https?: Server;
  /** Both, for what applies to every listener. */
  all: Server[];
  /** GOAWAY to every HTTP/2 visitor: streams in flight finish, new requests go to a new connection. */
  goAway(): void;
  /** Ends every connection of every listener at once, for the end of a shutdown. */
  closeAllConnections(): void;
}

export interface ListenerOptions {
  /** With TLS: the certificate for each handshake, by the name the client asked for. */
  sniCallback?: SniCallback;
  /** Offer WebSockets over HTTP/2 (RFC 8441); a cluster's hop carries HTTP/1.1 upgrades only. */
  http2WebSockets: boolean;
  /** A request head took longer than --head-timeout (counted in metrics). */
  timedOut(phase: ConnectionTimeout): void;
}

export function createListeners(config: RelayConfig, options: ListenerOptions): Listeners {
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: config.maxHeaderBytes,
    keepAlive: true,
    noDelay: true,
    // A head must be complete this long after its first byte (after the connection opened, for the
    // first one), however slowly its bytes trickle in; an idle connection goes after keepAliveTimeout.
    headersTimeout: config.headTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  };
  const httpServer = http.createServer(serverOptions);
  const closers: (() => void)[] = [() => httpServer.closeAllConnections()];
  let goAway = (): void => undefined;
  let httpsServer: Server | undefined;
  if (config.tls && options.sniCallback) {
    const tlsOptions = { ...serverOptions, SNICallback: options.sniCallback, handshakeTimeout: config.headTimeoutMs };
    if (config.http2) {
      const listener = createHttp2Listener(tlsOptions, { webSockets: options.http2WebSockets });
      httpsServer = listener.server;
      goAway = listener.goAway;
      closers.push(listener.closeAllConnections);
    } else {
      const server = https.createServer(tlsOptions);
      httpsServer = server;
      closers.push(() => server.closeAllConnections());
    }
  }
  const all = httpsServer ? [httpServer, httpsServer] : [httpServer];
  for (const server of all)
    server.on('clientError', (error, socket) => answerClientError(error as NodeJS.ErrnoException, socket, options.timedOut));
  return {
    http: httpServer,
    https: httpsServer,
    all,
    goAway: () => goAway(),
    closeAllConnections: () => {
      for (const close of closers) close();
    },
  };
}

/** Listens on `host`:`port` (0: any free port) as `flag` asked; resolves with the port bound, or rejects with what to do. */
export function listen(server: Server, host: string, port: number, flag: '--http-port' | '--https-port'): Promise<number> {
  return new Promise((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(listenError(error, host, port, flag));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number, flag: string): Error {
  const { code } = error;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `${host}:${port} is in use: another program listens there. Stop it, or choose another port with ${flag}.`,
      code,
    );
  if (code === 'EACCES')
    return new StartupError(
      `${flag} ${port}: ports below 1024 need a privilege. Run the relay with the systemd unit in relay/deploy/ (it grants CAP_NET_BIND_SERVICE; see "Deploy a relay" in relay/README.md), or choose a port above 1023.`,
      code,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new StartupError(`--host ${host} is no address of this machine (${code}). Give one of its addresses, 0.0.0.0 or ::.`, code);
  return error;
}

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, timedOut: (phase: ConnectionTimeout) => void): void {
  // Node's head timeout (--head-timeout), or its whole-request timeout.
  const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  if (timeout) timedOut('request');
  // Only HTTP/1.1 parse errors and timeouts get an answer; a failed TLS handshake has nobody to read one.
  if (!socket.writable || !(timeout || error.code?.startsWith('HPE_'))) {
    socket.destroy();
    return;
  }
  if (timeout) {
    socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    socket.end(rawPage(431, 'Request Header Fields Too Large', HEADERS_TOO_LARGE.title, HEADERS_TOO_LARGE.message));
  } else {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  }
}
