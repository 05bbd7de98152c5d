/**
 * What the listeners for visitors share (requests.ts, upgrades.ts): the way from a public request
 * to a tunnel stream. A request names a host; the host routes to the apex, a tunnel's name or
 * nothing (routing.ts); a tunnel admits the request or answers with a page (admission.ts); an
 * admitted request gets its tunnel stream's context, counted until it is done.
 */
import type { Tunnel } from '../core/tunnel.js';
import type { Clock } from '../core/clock.js';
import { admit, unknownHost, type Admission, type Forwarding } from './admission.js';
import type { ApexOptions } from './apex.js';
import type { ClusterHooks } from './clustering.js';
import type { RelayConfig } from './config.js';
import { type ConnectionGuard, RELAY_FULL_MESSAGE, RELAY_FULL_TITLE } from './connectionGuard.js';
import type { RequestGuard } from './faults.js';
import { isHttp2, requestAuthority, type PublicRequest } from './http2.js';
import type { Metrics } from './metrics.js';
import type { ForwardContext } from './proxy.js';
import type { Registration, Registry } from './registry.js';
import { hostHeaders, requestTarget, type Route, type Target } from './routing.js';

/** The host a public request named and its target in origin form. */
export interface Named {
  host: string;
  path: string;
}

export type Proto = 'http' | 'https';

export interface PublicSideOptions {
  config: RelayConfig;
  registry: Registry;
  connections: ConnectionGuard;
  metrics: Metrics;
  clock: Clock;
  apex: ApexOptions;
  /** Confines an exception in a listener to its own request (faults.ts). */
  guarded: RequestGuard;
  /** With --redis: requests for tunnels on other nodes go there. */
  cluster?: ClusterHooks;
}

export class PublicSide {
  readonly config: RelayConfig;
  readonly registry: Registry;
  readonly connections: ConnectionGuard;
  readonly apex: ApexOptions;
  readonly guarded: RequestGuard;
  readonly cluster?: ClusterHooks;
  /** Public requests between arrival and their response handed to the socket; upgrades (WebSockets) are not counted. */
  requestsInFlight = 0;

  constructor(private readonly options: PublicSideOptions) {
    this.config = options.config;
    this.registry = options.registry;
    this.connections = options.connections;
    this.apex = options.apex;
    this.guarded = options.guarded;
    this.cluster = options.cluster;
  }

  /**
   * The tunnel a public request may go through, or the page that says why not. `client`: the
   * visitor's address, when another cluster node passed the request on.
   */
  admitted(route: Route, target: Named, req: PublicRequest, proto: Proto, upgrade: boolean, client?: string): Admission {
    if (!this.connections.mayReachTunnel(req.socket)) return { ok: false, page: RELAY_FULL };
    if (route.kind !== 'tunnel') return { ok: false, page: unknownHost(target.host) };
    return admit(
      this.registry,
      this.config.maxStreamsPerTunnel,
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
      this.options.clock.now(),
    );
  }

  /** An admitted request's tunnel stream context; the tunnel's stream count (and the relay's in-flight count) hold it until done. */
  context(registration: Registration, target: Named, forward: Forwarding, proto: Proto, upgrade: boolean, client?: string): ForwardContext {
    registration.activeStreams++;
    if (!upgrade) this.requestsInFlight++;
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
        if (!upgrade) this.requestsInFlight--;
        this.options.metrics.request(status, bytesIn, bytesOut);
      },
    };
  }

  /** Whether a request for `route` is for a tunnel held by another cluster node (not connected here). */
  elsewhere(route: Route): route is Extract<Route, { kind: 'tunnel' }> {
    return this.cluster !== undefined && route.kind === 'tunnel' && !this.registry.lookup(route.name);
  }
}

/** The host `req` names and its target in origin form: HTTP/2's :authority and :path; HTTP/1.1's Host or an absolute-form target (routing.ts). */
export function namedBy(req: PublicRequest): Target {
  if (isHttp2(req)) return { ok: true, host: requestAuthority(req), path: req.url ?? '/' };
  return requestTarget(req.url ?? '/', hostHeaders(req.rawHeaders));
}

export const RELAY_FULL = { status: 503, title: RELAY_FULL_TITLE, message: RELAY_FULL_MESSAGE, headers: { connection: 'close' } };
export const FORBIDDEN_HOP = [
  'Not a cluster node',
  'This request claims to come from another node of the relay cluster but does not carry the cluster secret.',
] as const;
