/**
 * What the relay's servers ask of a cluster (relay/cluster/, with --redis). The embedded relay has
 * none: every hook below is skipped, and nothing of the cluster is loaded.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PublicRequest, PublicResponse } from './http2.js';
import type { NameClaims, Registration, Registry } from './registry.js';

/** Who a public request is from, for X-Forwarded-*: set once, by the node the visitor reached. */
export interface PublicClient {
  client: string;
  proto: 'http' | 'https';
}

export interface ClusterHooks {
  /** Takes the node's own registry; returns who decides claims (Redis leases in front of it). */
  attach(registry: Registry): NameClaims;
  /** Whether a connection from `address` comes from another node (held to no per-address connection limit). */
  isPeer(address: string): boolean;
  /** The registry freed a name (clean close, grace over). */
  released(registration: Registration): void;
  /**
   * For a request another node passed on (the internal hop): its visitor. Undefined for a visitor's
   * own request; 'forbidden' for one that claims to be a hop without the cluster's secret.
   */
  hop(req: PublicRequest): PublicClient | 'forbidden' | undefined;
  /**
   * A public request for a tunnel not connected here: passed to its node, held while it moves, or
   * answered with a page. `here` serves it on this node instead (the name turned out to be local).
   */
  request(name: string, req: PublicRequest, res: PublicResponse, visitor: PublicClient, fromHop: boolean, here: () => void): void;
  upgrade(
    name: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    visitor: PublicClient,
    fromHop: boolean,
    here: () => void,
  ): void;
  /** Joins the node list, reachable at --advertise or else `defaultUrl`. */
  join(defaultUrl: string): Promise<void>;
  /** Shutdown, first step: the other nodes hold requests for this node's tunnels until they reconnect elsewhere. */
  leaving(): Promise<void>;
  stop(): Promise<void>;
  /** Public requests this node is passing to another node right now (a shutdown waits for them). */
  readonly inFlight: number;
  /** `node` and `cluster` for /_porthole/health. */
  health(): Promise<{ node: string; cluster: { nodes: number; tunnels: number } }>;
  /** Lines for /_porthole/metrics. */
  metrics(): string[];
}
