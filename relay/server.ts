/**
 * The relay: accepts agents on `/_porthole/connect` at the apex, routes public requests by Host
 * to their tunnel, and serves a status page, health and metrics at the apex.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { WebSocketServer } from 'ws';
import type { CertificateSource } from './tls/source.js';
import { defaultConfig, type RelayConfig } from './config.js';
import { createLog, type Log } from './log.js';
import { type ConnectionTimeout, Metrics } from './metrics.js';
import { endWithPage, sendPage, rawPage } from './pages.js';
import { admit, unknownHost, type Admission, type Forwarding } from './admission.js';
import { AgentGate } from './agents.js';
import { ConnectionGuard, RELAY_FULL_MESSAGE, RELAY_FULL_TITLE } from './connectionGuard.js';
import { ConnectionLimits } from './connectionLimits.js';
import { serveApex, type ApexOptions } from './apex.js';
import { hostHeaders, requestTarget, routeHost, type Route, type Target } from './routing.js';
import { CONNECT_PATH, CloseCode, FrameType, MAX_MESSAGE_BYTES } from '../core/protocol.js';
import { faultReporter, requestGuard } from './faults.js';
import { systemClock, type Clock } from '../core/clock.js';
import { forwardRequest, forwardUpgrade, type ForwardContext } from './proxy.js';
import { createHttp2Listener, http2RequestProblem, isHttp2, requestAuthority, type PublicRequest, type PublicResponse } from './http2.js';
import { forwardWebSocketConnect, isWebSocketConnect, refuseConnect } from './websocketOverHttp2.js';
import { Registry, type Registration } from './registry.js';
import type { Tunnel } from '../core/tunnel.js';
import type { ClusterHooks } from './clustering.js';

/** How long a shutdown waits for public requests in flight. */
const SHUTDOWN_GRACE_MS = 5_000;
/** How often Node checks its connections for the head timeout (its default, 30 s, would let a head take 40). */
const TIMEOUT_CHECK_MS = 1_000;

export interface Relay {
  /** The apex URL agents connect to, e.g. http://localhost:8080. */
  readonly url: string;
  readonly httpPort: number;
  readonly httpsPort?: number;
  readonly registry: Registry;
  readonly metrics: Metrics;
  /** Replaces the agent tokens; tunnels opened with a token that is no longer listed are closed. Returns how many. */
  setTokens(tokens: string[]): number;
  /** Graceful stop: GOAWAY to agents, in-flight requests get a few seconds, then everything closes. */
  close(graceMs?: number): Promise<void>;
}

/** What a relay is started with; only settings that differ from the embedded defaults need saying. */
export interface RelayOptions {
  /** Settings; what is left out is the embedded default (config.ts). */
  config?: Partial<RelayConfig>;
  /** With `config.tls`: where the certificates come from (ACME, or files). */
  certificates?: CertificateSource;
  /** Default: text lines on stderr (JSON with `config.logFormat`). */
  log?: Log;
  /** With --redis: this relay is one node of a cluster (relay/cluster/). */
  cluster?: ClusterHooks;
  /** Default: the system's; tests pass one they drive (test/clock.ts). */
  clock?: Clock;
}

export async function startRelay(options: RelayOptions = {}): Promise<Relay> {
  const config: RelayConfig = { ...defaultConfig(), ...options.config };
  const { certificates, cluster, clock = systemClock, log = createLog(config.logFormat) } = options;
  const registry = new Registry(
    {
      gracePeriodMs: config.gracePeriodMs,
      maxTunnelsPerToken: config.maxTunnelsPerToken,
      onRelease: cluster && ((registration) => cluster.released(registration)),
    },
    clock,
  );
  const claims = cluster?.attach(registry) ?? registry;
  const limits = new ConnectionLimits({
    maxConnections: config.maxConnections,
    maxPerAddress: config.maxConnectionsPerAddress,
    ipv6Prefix: config.ipv6Prefix,
    exempt: cluster && ((address) => cluster.isPeer(address)),
  });
  const metrics = new Metrics(limits);
  const connections = new ConnectionGuard(limits, metrics, log);
  const fault = faultReporter(log, metrics);
  const guarded = requestGuard(fault, config.domain);

  const tlsOn = Boolean(config.tls && certificates);
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES });
  let publicPort = config.httpPort;
  /** Public requests between arrival and their response handed to the socket; upgrades (WebSockets) are not counted. */
  let requestsInFlight = 0;

  const agents = new AgentGate(config.tokens, {
    registry,
    claims,
    metrics,
    log,
    heartbeatMs: config.heartbeatMs,
    maxFramePayload: config.maxFramePayload,
    registered: (req) => connections.agentRegistered(req.socket),
    clock,
    fault,
    tunnelUrl: (subdomain) =>
      `${tlsOn ? 'https' : 'http'}://${subdomain}.${config.domain}${portSuffix(tlsOn ? 'https' : 'http', publicPort)}`,
  });
  const apex: ApexOptions = {
    domain: config.domain,
    registry,
    metrics,
    adminToken: config.adminToken,
    certificateExpiries: () => certificates?.expiries() ?? [],
    cluster,
  };

  /** The tunnel a public request may go through, or the page that says why not. */
  /** `client`: the visitor's address, when another cluster node passed the request on. */
  function admitted(
    route: Route,
    target: Named,
    req: PublicRequest,
    proto: 'http' | 'https',
    upgrade: boolean,
    client?: string,
  ): Admission {
    if (!connections.mayReachTunnel(req.socket)) return { ok: false, page: RELAY_FULL };
    if (route.kind !== 'tunnel') return { ok: false, page: unknownHost(target.host) };
    return admit(
      registry,
      config.maxStreamsPerTunnel,
      route.name,
      {
        method: req.method ?? 'GET',
        target: target.path,
        remote: client ?? req.socket.remoteAddress ?? '',
        proto,
        host: target.host,
        upgrade,
        authorization: req.headers.authorization,
        cookie: req.headers.cookie,
      },
      clock.now(),
    );
  }

  function context(
    registration: Registration,
    target: Named,
    forward: Forwarding,
    proto: 'http' | 'https',
    upgrade: boolean,
    client?: string,
  ): ForwardContext {
    registration.activeStreams++;
    if (!upgrade) requestsInFlight++;
    return {
      tunnel: registration.tunnel as Tunnel,
      subdomain: registration.subdomain,
      host: target.host,
      path: target.path,
      proto,
      client,
      forward,
      onDone: (status, bytesIn, bytesOut) => {
        registration.activeStreams--;
        if (!upgrade) requestsInFlight--;
        metrics.request(status, bytesIn, bytesOut);
      },
    };
  }

  /** The listener for public requests; `expectsContinue` for those that sent `Expect: 100-continue`. */
  function onRequest(proto: 'http' | 'https', expectsContinue = false) {
    return guarded(
      (req: PublicRequest, res: PublicResponse) => {
        if (isHttp2(req)) {
          const problem = http2RequestProblem(req, config.maxHeaderBytes);
          if (problem === 'size') return sendPage(res, 431, HEADERS_TOO_LARGE.title, HEADERS_TOO_LARGE.message);
          if (problem === 'host') return sendPage(res, 400, 'Bad request', 'The Host header names another host than :authority.');
        }
        const hop = cluster?.hop(req);
        if (hop === 'forbidden') return sendPage(res, 403, FORBIDDEN_HOP[0], FORBIDDEN_HOP[1]);
        const target = namedBy(req);
        if (!target.ok) return sendPage(res, 400, 'Bad request', target.problem);
        const route = routeHost(target.host, config.domain);
        if (route.kind === 'apex') return serveApex(req, res, apex);
        const named = { host: target.host ?? '', path: target.path };
        if (cluster && route.kind === 'tunnel' && !registry.lookup(route.name)) {
          if (!connections.mayReachTunnel(req.socket))
            return sendPage(res, RELAY_FULL.status, RELAY_FULL.title, RELAY_FULL.message, undefined, RELAY_FULL.headers);
          const visitor = hop ?? { client: req.socket.remoteAddress ?? '', proto };
          const here = () => requestHere(route, named, req, res, visitor.proto, expectsContinue, hop?.client);
          return cluster.request(route.name, req, res, visitor, hop !== undefined, here);
        }
        requestHere(route, named, req, res, hop?.proto ?? proto, expectsContinue, hop?.client);
      },
      (_req, res) => (res as { destroy(): void }).destroy(),
    );
  }

  /** A public request for a tunnel connected here (or for no tunnel at all). */
  function requestHere(
    route: Route,
    target: Named,
    req: PublicRequest,
    res: PublicResponse,
    proto: 'http' | 'https',
    expectsContinue: boolean,
    client?: string,
  ) {
    const admission = admitted(route, target, req, proto, false, client);
    if (!admission.ok) {
      const { status, title, message, headers } = admission.page;
      return sendPage(res, status, title, message, undefined, headers);
    }
    // Answer `Expect: 100-continue` only once we know the tunnel will take the body.
    if (expectsContinue) res.writeContinue();
    forwardRequest(req, res, context(admission.registration, target, admission.forward, proto, false, client));
  }

  /**
   * RFC 8441 extended CONNECT on HTTP/2: a WebSocket, admitted as any request is (offered only
   * outside a cluster, whose hop carries HTTP/1.1 upgrades). A CONNECT on HTTP/1.1 is refused.
   */
  function onConnectUnguarded(req: PublicRequest, res: PublicResponse | Duplex): void {
    if (!isHttp2(req))
      return void (res as Duplex).end(
        rawPage(405, 'Method Not Allowed', 'Method not allowed', 'This relay does not tunnel CONNECT requests.'),
      );
    const response = res as Http2ServerResponse;
    if (!isWebSocketConnect(req)) return refuseConnect(req, response);
    const problem = http2RequestProblem(req, config.maxHeaderBytes);
    if (problem)
      return sendPage(response, problem === 'size' ? 431 : 400, 'Bad request', 'The request head is too large or names two hosts.');
    const named = { host: requestAuthority(req) ?? '', path: req.url ?? '/' };
    const admission = admitted(routeHost(named.host, config.domain), named, req, 'https', true);
    if (!admission.ok) {
      const { status, title, message, headers } = admission.page;
      return sendPage(response, status, title, message, undefined, headers);
    }
    forwardWebSocketConnect(req, response, context(admission.registration, named, admission.forward, 'https', true));
  }
  const onConnect = guarded(onConnectUnguarded, (_req, res) => (res as { destroy(): void }).destroy());

  function onUpgrade(proto: 'http' | 'https') {
    return guarded(
      (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        socket.on('error', () => socket.destroy());
        const hop = cluster?.hop(req);
        if (hop === 'forbidden') return endWithPage(req, socket, 403, 'Forbidden', FORBIDDEN_HOP[0], FORBIDDEN_HOP[1]);
        const target = namedBy(req);
        if (!target.ok) return endWithPage(req, socket, 400, 'Bad Request', 'Bad request', target.problem);
        const route = routeHost(target.host, config.domain);
        if (route.kind === 'apex') {
          if (target.path.split('?')[0] !== CONNECT_PATH) {
            endWithPage(req, socket, 404, 'Not Found', 'Not found', `Agents connect to ${CONNECT_PATH}.`);
            return;
          }
          wss.handleUpgrade(req, socket, head, (ws) => agents.accept(ws, req));
          return;
        }
        const named = { host: target.host ?? '', path: target.path };
        if (cluster && route.kind === 'tunnel' && !registry.lookup(route.name)) {
          if (!connections.mayReachTunnel(req.socket))
            return endWithPage(req, socket, 503, 'Service Unavailable', RELAY_FULL.title, RELAY_FULL.message, RELAY_FULL.headers);
          const visitor = hop ?? { client: req.socket.remoteAddress ?? '', proto };
          const here = () => upgradeHere(route, named, req, socket, head, visitor.proto, hop?.client);
          return cluster.upgrade(route.name, req, socket, head, visitor, hop !== undefined, here);
        }
        upgradeHere(route, named, req, socket, head, hop?.proto ?? proto, hop?.client);
      },
      (_req, socket) => socket.destroy(),
    );
  }

  function upgradeHere(
    route: Route,
    target: Named,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    proto: 'http' | 'https',
    client?: string,
  ) {
    const admission = admitted(route, target, req, proto, true, client);
    if (!admission.ok) {
      const { status, title, message, headers } = admission.page;
      return endWithPage(req, socket, status, title, title, message, headers);
    }
    forwardUpgrade(req, socket, head, context(admission.registration, target, admission.forward, proto, true, client));
  }

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
  connections.guard(httpServer, false);
  const servers: Server[] = [httpServer];
  /** Ends every connection of every listener at once, for the end of a shutdown. */
  const connectionClosers: (() => void)[] = [() => httpServer.closeAllConnections()];
  let goAway = (): void => undefined;
  let httpsServer: Server | undefined;
  if (tlsOn && certificates && config.tls) {
    const tls = config.tls;
    const tlsOptions = { ...serverOptions, SNICallback: certificates.sniCallback, handshakeTimeout: config.headTimeoutMs };
    if (config.http2) {
      const listener = createHttp2Listener(tlsOptions, { webSockets: !cluster });
      httpsServer = listener.server;
      goAway = listener.goAway;
      connectionClosers.push(listener.closeAllConnections);
      httpsServer.on('connect', onConnect);
    } else {
      const server = https.createServer(tlsOptions);
      httpsServer = server;
      connectionClosers.push(() => server.closeAllConnections());
    }
    connections.guard(httpsServer, true);
    servers.push(httpsServer);
    httpsServer.on('request', onRequest('https'));
    httpsServer.on('checkContinue', onRequest('https', true));
    httpsServer.on('upgrade', onUpgrade('https'));
    const hopped = onRequest('http');
    httpServer.on(
      'request',
      guarded(
        (req: IncomingMessage, res: ServerResponse) => {
          // Other cluster nodes pass requests on over plain HTTP, to --advertise.
          if (cluster?.hop(req) !== undefined) return hopped(req, res);
          if (certificates.handleHttpChallenge(req, res)) return;
          const target = namedBy(req);
          if (!target.ok) return sendPage(res, 400, 'Bad request', target.problem);
          const host = (target.host ?? config.domain).replace(/:\d*$/, '');
          res.writeHead(308, { location: `https://${host}${portSuffix('https', tls.httpsPort)}${target.path}`, 'content-length': 0 });
          res.end();
        },
        (_req, res) => res.destroy(),
      ),
    );
    if (cluster) httpServer.on('upgrade', onUpgrade('http'));
  } else {
    httpServer.on('request', onRequest('http'));
    httpServer.on('checkContinue', onRequest('http', true));
    httpServer.on('upgrade', onUpgrade('http'));
  }
  const timedOut = (phase: ConnectionTimeout) => metrics.connectionTimedOut(phase);
  for (const server of servers) {
    server.on('clientError', (error, socket) => onClientError(error as NodeJS.ErrnoException, socket, timedOut));
    // Without a listener Node drops a CONNECT without a word; a relay is no forward proxy, and says so.
    if (server.listenerCount('connect') === 0) server.on('connect', onConnect);
  }

  publicPort = await listen(httpServer, config.host, config.httpPort);
  const httpPort = publicPort;
  let httpsPort: number | undefined;
  if (httpsServer && certificates && config.tls) {
    // The CA validates the apex over HTTP-01 on the HTTP port, so that one must listen first.
    await certificates.start();
    certificates.attach(httpsServer as tls.Server);
    publicPort = httpsPort = await listen(httpsServer, config.host, config.tls.httpsPort);
  }
  const url = `${tlsOn ? 'https' : 'http'}://${config.domain}${portSuffix(tlsOn ? 'https' : 'http', publicPort)}`;
  await cluster?.join(`http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${httpPort}`);
  log('relay.listening', {
    url,
    host: config.host,
    httpPort,
    httpsPort,
    tokens: config.tokens.length,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerAddress,
  });
  connections.checkDescriptorLimit();

  return {
    url,
    httpPort,
    httpsPort,
    registry,
    metrics,
    setTokens: (next) => agents.setTokens(next),
    async close(graceMs = SHUTDOWN_GRACE_MS) {
      for (const server of servers) server.close();
      goAway();
      await cluster?.leaving();
      for (const registration of registry.registrations())
        registration.tunnel?.sendControl(FrameType.GoAway, { reason: 'the relay is restarting' });
      // Until each response has been handed to its socket: the agent's last frame can come well before that.
      // Upgraded connections (WebSockets) never finish by themselves, so they are not waited for.
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && requestsInFlight + (cluster?.inFlight ?? 0) > 0) await new Promise((r) => setTimeout(r, 50));
      const tunnels = [...registry.registrations()].flatMap((r) => (r.tunnel ? [r.tunnel] : []));
      for (const tunnel of tunnels) tunnel.close(CloseCode.goingAway, 'relay shutting down');
      for (const closeAll of connectionClosers) closeAll();
      registry.clear();
      certificates?.stop();
      await cluster?.stop();
      await Promise.all(servers.map((server) => new Promise((r) => server.close(() => r(undefined)))));
    },
  };
}

/** The host a public request named and its target in origin form. */
interface Named {
  host: string;
  path: string;
}

/** The host `req` names and its target in origin form: HTTP/2's :authority and :path; HTTP/1.1's Host or an absolute-form target (routing.ts). */
function namedBy(req: PublicRequest): Target {
  if (isHttp2(req)) return { ok: true, host: requestAuthority(req), path: req.url ?? '/' };
  return requestTarget(req.url ?? '/', hostHeaders(req.rawHeaders));
}

const RELAY_FULL = { status: 503, title: RELAY_FULL_TITLE, message: RELAY_FULL_MESSAGE, headers: { connection: 'close' } };
const FORBIDDEN_HOP = [
  'Not a cluster node',
  'This request claims to come from another node of the relay cluster but does not carry the cluster secret.',
] as const;

/** The page for a request head past --max-header-size, on HTTP/1.1 and HTTP/2 alike. */
const HEADERS_TOO_LARGE = {
  title: 'Request headers too large',
  message: 'The request headers are larger than this relay accepts (--max-header-size).',
};

function onClientError(error: NodeJS.ErrnoException, socket: Duplex, timedOut: (phase: ConnectionTimeout) => void): void {
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

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function portSuffix(proto: 'http' | 'https', port: number): string {
  return (proto === 'http' && port === 80) || (proto === 'https' && port === 443) ? '' : `:${port}`;
}
