/** The flags of a cluster node: --redis, --cluster-secret and --advertise (relay/README.md, "Run a cluster"). */
import { ConfigError } from './startupError.js';

export interface ClusterConfig {
  redisUrl: string;
  /** Authenticates node-to-node requests; the same on every node. */
  secret: string;
  /** How the other nodes reach this one; default http://<host>:<http port>. */
  advertise?: string;
}

const MIN_CLUSTER_SECRET = 16;

/** The URL the other nodes reach this one at without --advertise: --host (IPv6 in brackets) and the HTTP port bound. */
export function defaultAdvertise(host: string, httpPort: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${httpPort}`;
}

/** The cluster settings, or undefined without --redis; `host` is --host (a wildcard address needs --advertise). */
export function clusterConfig(redisUrl?: string, secret?: string, advertise?: string, host = ''): ClusterConfig | undefined {
  if (redisUrl === undefined) {
    if (secret !== undefined || advertise !== undefined)
      throw new ConfigError('--cluster-secret and --advertise only mean something with --redis.');
    return undefined;
  }
  if (!/^rediss?:\/\/[^/]/.test(redisUrl))
    throw new ConfigError(`--redis must be a Redis URL like redis://10.0.0.5:6379 or rediss://:password@host:6380/0, not "${redisUrl}".`);
  if (!secret || secret.length < MIN_CLUSTER_SECRET) {
    throw new ConfigError(
      `--redis needs --cluster-secret (at least ${MIN_CLUSTER_SECRET} characters, the same on every node): it authenticates the requests nodes pass to each other. Make one with: openssl rand -hex 24`,
    );
  }
  if (advertise !== undefined) {
    let url: URL;
    try {
      url = new URL(advertise);
    } catch {
      throw new ConfigError(`--advertise must be a URL like http://10.0.0.5:8080, not "${advertise}".`);
    }
    if (url.protocol !== 'http:' || url.pathname !== '/')
      throw new ConfigError(`--advertise must be http://HOST:PORT with no path, not "${advertise}".`);
    return { redisUrl, secret, advertise: url.origin };
  }
  if (host === '0.0.0.0' || host === '::') {
    throw new ConfigError(
      `With --host ${host}, give --advertise http://<this node's private address>:<http port>: the other nodes need an address to reach this one.`,
    );
  }
  return { redisUrl, secret };
}
