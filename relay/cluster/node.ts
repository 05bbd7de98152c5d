/**
 * A relay as one node of a cluster on Redis (`node relay --redis …`): names are claimed in Redis,
 * nodes list themselves there, and a public request for a tunnel connected to another node is passed
 * to that node. While a tunnel moves (its node stopped or died, its agent reconnecting elsewhere)
 * requests for it wait a few seconds for it to come back, then get the "reconnecting" page, never a 404.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hasBody, type PublicRequest, type PublicResponse } from '../http2.js';
import type { Duplex } from 'node:stream';
import type { ClusterHooks, PublicClient } from '../clustering.js';
import type { Log } from '../log.js';
import { rawPage, sendPage } from '../pages.js';
import type { NameClaims, Registration, Registry } from '../registry.js';
import type { CertificateStorage, HttpChallenges } from '../tls/storage.js';
import { RedisCertificateStore, RedisChallenges } from './certificates.js';
import { Forwarder, type HopOutcome } from './forwarder.js';
import { MISS_HEADER, hopToken, inboundHop } from './hop.js';
import { NodeDirectory } from './nodeDirectory.js';
import { connectRedis, type RedisLink } from './redis.js';
import { NAMES_CHANNEL, RedisRegistry } from './redisRegistry.js';
import { Routes } from './routes.js';

/** How long a request for a tunnel whose node is gone waits for its agent to reconnect to another node. */
const HOLD_MS = 5_000;
/** Requests held at once, over all tunnels; more get the "reconnecting" page at once. */
const MAX_HELD = 1_000;
const RECHECK_MS = 500;

export interface ClusterOptions {
  redisUrl: string;
  clusterSecret: string;
  /** --advertise: how the other nodes reach this one. */
  advertise?: string;
  gracePeriodMs: number;
  maxTunnelsPerToken: number;
  log: Log;
}

type Page = { status: number; title: string; message: string; headers?: Record<string, string> };

export async function startCluster(options: ClusterOptions): Promise<ClusterNode> {
  const id = randomBytes(6).toString('base64url');
  const redis = await connectRedis(options.redisUrl, `porthole-relay-${id}`, options.log);
  return new ClusterNode(id, redis, options);
}

export class ClusterNode implements ClusterHooks {
  inFlight = 0;
  /** How the other nodes reach this one (--advertise, or the default), once it joined. */
  url = '';
  private readonly token: string;
  private readonly tokenBytes: Buffer;
  private readonly directory: NodeDirectory;
  private readonly routes: Routes;
  private readonly forwarder: Forwarder;
  private registry?: Registry;
  private names?: RedisRegistry;
  private forwarded = 0;
  private forwardErrors = 0;

  constructor(
    readonly id: string,
    private readonly redis: RedisLink,
    private readonly options: ClusterOptions,
  ) {
    this.token = hopToken(options.clusterSecret);
    this.tokenBytes = Buffer.from(this.token);
    this.forwarder = new Forwarder(this.token, options.log);
    this.routes = new Routes(redis);
    this.directory = new NodeDirectory(
      id,
      redis,
      () => this.registry?.size ?? 0,
      options.log,
      (gone) => this.forwarder.forget(gone.url),
    );
  }

  attach(registry: Registry): NameClaims {
    this.registry = registry;
    const { gracePeriodMs, maxTunnelsPerToken, clusterSecret, log } = this.options;
    const names = new RedisRegistry({
      registry,
      redis: this.redis,
      directory: this.directory,
      clusterSecret,
      gracePeriodMs,
      maxTunnelsPerToken,
      log,
    });
    this.names = names;
    return names;
  }

  isPeer(address: string): boolean {
    return this.directory.isPeer(address);
  }

  released(registration: Registration): void {
    this.names?.release(registration);
  }

  hop(req: PublicRequest): PublicClient | 'forbidden' | undefined {
    return inboundHop(req, this.tokenBytes);
  }

  async join(defaultUrl: string): Promise<void> {
    this.url = this.options.advertise ?? defaultUrl;
    await this.redis.subscribe(NAMES_CHANNEL, (message) => {
      const [name, node] = message.split(' ');
      this.routes.changed(name);
      if (node && node !== this.id)
        this.names
          ?.claimedElsewhere(name)
          .catch((error: Error) => this.options.log('cluster.check-failed', { tunnel: name, error: error.message }));
    });
    this.names?.start();
    await this.directory.join(this.url);
    this.options.log('cluster.joined', { id: this.id, advertise: this.url, nodes: this.directory.live.length });
  }

  /** ACME account, certificates and HTTP-01 tokens shared by every node. */
  certificateStorage(directoryUrl: string): { store: CertificateStorage; challenges: HttpChallenges } {
    return {
      store: new RedisCertificateStore(this.redis, directoryUrl, this.id, this.options.log),
      challenges: new RedisChallenges(this.redis),
    };
  }

  /** Whether a tunnel of this name is connected to any node now (certificates are ordered only for those). */
  async isLive(name: string): Promise<boolean> {
    if (this.registry?.lookup(name)?.tunnel) return true;
    const { node } = await this.routes.owner(name);
    return node !== undefined && node !== this.id && this.directory.entry(node) !== undefined;
  }

  async leaving(): Promise<void> {
    await this.directory.leave();
  }

  async stop(): Promise<void> {
    this.names?.stop();
    await this.directory.stop();
    await this.forwarder.close();
    await this.redis.close();
  }

  async health(): Promise<{ node: string; cluster: { nodes: number; tunnels: number } }> {
    const live = await this.directory.refresh();
    return { node: this.url, cluster: { nodes: live.length, tunnels: live.reduce((sum, n) => sum + n.tunnels, 0) } };
  }

  metrics(): string[] {
    const live = this.directory.live;
    return [
      '# HELP porthole_cluster_node This node of the cluster: its id and advertise URL.',
      '# TYPE porthole_cluster_node gauge',
      `porthole_cluster_node{id="${this.id}",node="${this.url}"} 1`,
      '# HELP porthole_cluster_redis_up 1 while this node reaches Redis.',
      '# TYPE porthole_cluster_redis_up gauge',
      `porthole_cluster_redis_up ${this.redis.up ? 1 : 0}`,
      '# HELP porthole_cluster_nodes Live nodes of the cluster.',
      '# TYPE porthole_cluster_nodes gauge',
      `porthole_cluster_nodes ${live.length}`,
      '# HELP porthole_cluster_tunnels Tunnels connected to any node of the cluster.',
      '# TYPE porthole_cluster_tunnels gauge',
      `porthole_cluster_tunnels ${live.reduce((sum, n) => sum + n.tunnels, 0)}`,
      '# HELP porthole_cluster_forwarded_total Public requests passed to the node holding their tunnel.',
      '# TYPE porthole_cluster_forwarded_total counter',
      `porthole_cluster_forwarded_total ${this.forwarded}`,
      "# HELP porthole_cluster_forward_errors_total Requests whose tunnel's node could not be reached.",
      '# TYPE porthole_cluster_forward_errors_total counter',
      `porthole_cluster_forward_errors_total ${this.forwardErrors}`,
      '# HELP porthole_cluster_held_requests Requests waiting for a moving tunnel.',
      '# TYPE porthole_cluster_held_requests gauge',
      `porthole_cluster_held_requests ${this.routes.held}`,
    ];
  }

  request(name: string, req: PublicRequest, res: PublicResponse, visitor: PublicClient, fromHop: boolean, here: () => void): void {
    const answer = (page: Page) => sendPage(res, page.status, page.title, page.message, undefined, page.headers);
    if (fromHop) return answer(this.miss(name));
    const body = hasBody(req);
    this.route(
      name,
      () => res.destroyed,
      here,
      answer,
      (url) => new Promise<HopOutcome>((resolve) => this.forwarder.request(url, req, res, visitor, resolve)),
      body,
    ).catch((error: Error) => this.failed(name, error, () => res.destroy()));
  }

  upgrade(
    name: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    visitor: PublicClient,
    fromHop: boolean,
    here: () => void,
  ): void {
    const answer = (page: Page) => void socket.end(rawPage(page.status, page.title, page.title, page.message));
    if (fromHop) return answer(this.miss(name));
    this.route(
      name,
      () => socket.destroyed,
      here,
      answer,
      (url) => new Promise<HopOutcome>((resolve) => this.forwarder.upgrade(url, req, socket, head, visitor, resolve)),
      false, // nothing of an upgrade is sent before it switches, so it can be tried again
    ).catch((error: Error) => this.failed(name, error, () => socket.destroy()));
  }

  /** A request this node could not route, for a reason no page covers: logged, and its connection closed. */
  private failed(name: string, error: Error, close: () => void): void {
    this.options.log('cluster.route-failed', { tunnel: name, error: error.message });
    close();
  }

  /**
   * Finds the tunnel's node and passes the request there; waits while the tunnel moves. A request
   * whose body has started to flow is never sent twice.
   */
  private async route(
    name: string,
    gone: () => boolean,
    here: () => void,
    answer: (page: Page) => void,
    forward: (url: string) => Promise<HopOutcome>,
    body: boolean,
  ): Promise<void> {
    this.inFlight++;
    const deadline = Date.now() + HOLD_MS;
    try {
      for (;;) {
        if (gone()) return;
        if (this.registry?.lookup(name)) return here();
        let node: string | undefined;
        try {
          node = (await this.routes.owner(name)).node;
        } catch {
          return answer(unavailable(name));
        }
        if (node === undefined) return here(); // no such tunnel anywhere: the usual 404
        const entry = node === this.id ? undefined : this.directory.entry(node);
        if (entry && !entry.leaving) {
          const outcome = await forward(entry.url).catch((error: Error): HopOutcome => ({ kind: 'unreachable', error }));
          if (outcome.kind === 'answered') {
            this.forwarded++;
            return;
          }
          this.routes.changed(name);
          if (outcome.kind === 'unreachable') {
            this.forwardErrors++;
            this.options.log('cluster.forward-failed', { tunnel: name, to: entry.url, error: outcome.error.message });
            if (body) return answer(reconnecting(name));
          }
        }
        if (Date.now() >= deadline || this.routes.held >= MAX_HELD) return answer(reconnecting(name));
        await this.routes.next(name, Math.min(RECHECK_MS, deadline - Date.now()));
      }
    } finally {
      this.inFlight--;
    }
  }

  /** A hop for a tunnel not held here (it just moved): the sending node looks it up again. */
  private miss(name: string): Page {
    return { ...reconnecting(name), headers: { 'retry-after': '1', [MISS_HEADER]: '1' } };
  }
}

function reconnecting(name: string): Page {
  return {
    status: 503,
    title: 'Tunnel reconnecting',
    message: `The tunnel "${name}" is moving to another relay node: its agent is reconnecting. Try again in a moment.`,
    headers: { 'retry-after': '2' },
  };
}

function unavailable(name: string): Page {
  return {
    status: 503,
    title: 'Relay cluster unavailable',
    message: `This relay node cannot reach the cluster's shared state (Redis) right now, so it cannot find the node that serves "${name}". Tunnels connected to this node still work. Try again in a moment.`,
    headers: { 'retry-after': '5' },
  };
}
