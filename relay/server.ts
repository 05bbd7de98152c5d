/**
 * The relay: accepts agents on `/_porthole/connect` at the apex, routes public requests by Host
 * to their tunnel, and serves a status page, health and metrics at the apex. This module puts the
 * parts together; each concept has a module of its own (ARCHITECTURE.md lists them).
 */
import type tls from 'node:tls';
import { WebSocketServer } from 'ws';
import { systemClock, type Clock } from '../core/clock.js';
import { MAX_MESSAGE_BYTES } from '../core/protocol.js';
import { AgentGate } from './agents.js';
import type { ApexOptions } from './apex.js';
import { defaultAdvertise } from './clusterConfig.js';
import type { ClusterHooks } from './clustering.js';
import { defaultConfig, type RelayConfig } from './config.js';
import { ConnectionGuard } from './connectionGuard.js';
import { ConnectionLimits } from './connectionLimits.js';
import { faultReporter, requestGuard } from './faults.js';
import { httpsRedirect } from './httpsRedirect.js';
import { createListeners, listen } from './listeners.js';
import { createLog, type Log } from './log.js';
import { Metrics } from './metrics.js';
import { PublicSide } from './publicSide.js';
import { PublicUrls } from './publicUrl.js';
import { Registry } from './registry.js';
import { requestListener } from './requests.js';
import { SHUTDOWN_GRACE_MS, shutDown } from './shutdown.js';
import type { CertificateSource } from './tls/source.js';
import { type AcceptAgent, connectListener, upgradeListener } from './upgrades.js';

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
  const { cluster, clock = systemClock, log = createLog(config.logFormat) } = options;
  const certificates = config.tls ? options.certificates : undefined;
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

  /** The relay's public address; set once the listeners are bound, before any agent or visitor is served. */
  let urls: PublicUrls | undefined;
  const publicUrls = () => urls as PublicUrls;
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
    tunnelUrl: (subdomain) => publicUrls().tunnel(subdomain),
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES });
  const apex: ApexOptions = {
    domain: config.domain,
    registry,
    metrics,
    adminToken: config.adminToken,
    certificateExpiries: () => certificates?.expiries() ?? [],
    cluster,
  };
  const side = new PublicSide({
    config,
    registry,
    connections,
    metrics,
    clock,
    apex,
    guarded: requestGuard(fault, config.domain),
    cluster,
  });

  const listeners = createListeners(config, {
    sniCallback: certificates?.sniCallback,
    http2WebSockets: !cluster,
    timedOut: (phase) => metrics.connectionTimedOut(phase),
  });
  const { http: httpServer, https: httpsServer } = listeners;
  const toAgents: AcceptAgent = (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => agents.accept(ws, req));
  connections.guard(httpServer, false);
  if (httpsServer && certificates) {
    connections.guard(httpsServer, true);
    httpsServer.on('request', requestListener(side, 'https'));
    httpsServer.on('checkContinue', requestListener(side, 'https', true));
    httpsServer.on('upgrade', upgradeListener(side, 'https', toAgents));
    httpServer.on('request', httpsRedirect(side, certificates, publicUrls));
    // Other cluster nodes pass upgrades on over plain HTTP, to --advertise.
    if (cluster) httpServer.on('upgrade', upgradeListener(side, 'http', toAgents));
  } else {
    httpServer.on('request', requestListener(side, 'http'));
    httpServer.on('checkContinue', requestListener(side, 'http', true));
    httpServer.on('upgrade', upgradeListener(side, 'http', toAgents));
  }
  // Without a listener Node drops a CONNECT without a word; a relay is no forward proxy, and says so.
  const onConnect = connectListener(side);
  for (const server of listeners.all) server.on('connect', onConnect);

  const httpPort = await listen(httpServer, config.host, config.httpPort, '--http-port');
  let httpsPort: number | undefined;
  if (httpsServer && certificates && config.tls) {
    // The CA validates the apex over HTTP-01 on the HTTP port, so that one must listen first.
    await certificates.start();
    certificates.attach(httpsServer as tls.Server);
    httpsPort = await listen(httpsServer, config.host, config.tls.httpsPort, '--https-port');
  }
  urls =
    httpsPort === undefined
      ? new PublicUrls('http', config.domain, config.publicPort ?? httpPort)
      : new PublicUrls('https', config.domain, config.publicPort ?? httpsPort);
  const url = urls.apex;
  await cluster?.join(defaultAdvertise(config.host, httpPort));
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
    close: (graceMs = SHUTDOWN_GRACE_MS) => shutDown({ listeners, registry, side, certificates, cluster }, graceMs),
  };
}
