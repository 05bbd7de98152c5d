/**
 * The cluster's live nodes: each node beats every second into Redis with its advertise URL, its tunnel
 * count and whether it is leaving (SIGTERM); a node silent for five seconds is dropped from the list by
 * the next beat of any node. Times come from Redis's clock, so nodes on different machines agree.
 */
import type { Log } from '../log.js';
import { LogThrottle } from '../logThrottle.js';
import { script, type RedisLink, type Reply } from './redis.js';

const BEAT_MS = 1_000;
/** Generous: a node busy for a moment must not drop out (a dead one is found sooner, by a refused connection). */
const SILENT_MS = 5 * BEAT_MS;
const NODES = 'porthole:nodes';
const SEEN = 'porthole:nodes:seen';
/** Nodes announce joining and leaving here, so the others look again at once. */
const NODES_CHANNEL = 'porthole:nodes:changed';

export interface NodeEntry {
  id: string;
  url: string;
  tunnels: number;
  leaving: boolean;
}

/** Records this node's beat, forgets nodes silent too long, and returns every live node's entry. */
const BEAT = script(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[1], id)
end
return redis.call('HGETALL', KEYS[1])
`);

const LEAVE = script(`
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
`);

export class NodeDirectory {
  private nodes = new Map<string, NodeEntry>();
  /** The other nodes' hosts, as in their advertise URLs (an address, or a name as given). */
  private peers = new Set<string>();
  private timer?: NodeJS.Timeout;
  private leaving = false;
  private stopped = false;
  private url = '';
  /** A beat fails every second while Redis is away: one line a minute says so. */
  private readonly failures = new LogThrottle();

  constructor(
    readonly id: string,
    private readonly redis: RedisLink,
    private readonly tunnels: () => number,
    private readonly log: Log,
    /** Told about nodes that left the list and whose URL no live node has (their connections can go). */
    private readonly departed: (entry: NodeEntry) => void,
  ) {}

  /** Starts beating as the node reachable at `url`. */
  async join(url: string): Promise<void> {
    this.url = url;
    await this.beat();
    await this.redis.publish(NODES_CHANNEL, this.id);
    await this.redis.subscribe(NODES_CHANNEL, () => void this.beatOrSay());
    this.timer = setInterval(() => void this.beatOrSay(), BEAT_MS);
    this.timer.unref();
  }

  /** Tells the others this node is going: they hold requests for its tunnels until the agents reconnect elsewhere. */
  async leave(): Promise<void> {
    this.leaving = true;
    // Without Redis the others cannot hear it; they drop this node once its beats stop.
    await this.beat().catch((error: Error) => this.log('cluster.leave-failed', { step: 'beat', error: error.message }));
    await this.redis
      .publish(NODES_CHANNEL, this.id)
      .catch((error: Error) => this.log('cluster.leave-failed', { step: 'announce', error: error.message }));
  }

  /** Takes this node off the list. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (!this.redis.up) return; // the others drop it once its beats stop
    await this.redis
      .run(LEAVE, [NODES, SEEN], [this.id, NODES_CHANNEL])
      .catch((error: Error) => this.log('cluster.leave-failed', { step: 'remove', error: error.message }));
  }

  /** A node's entry while it is live (beating, leaving or not). */
  entry(id: string): NodeEntry | undefined {
    return this.nodes.get(id);
  }

  /** Whether `address` (a socket's remote address) is a live node's, by its advertise URL. */
  isPeer(address: string): boolean {
    return this.peers.has(address.startsWith('::ffff:') ? address.slice(7) : address);
  }

  get live(): NodeEntry[] {
    return [...this.nodes.values()];
  }

  /** A fresh look at the list (for health checks); the last one known when Redis does not answer. */
  async refresh(): Promise<NodeEntry[]> {
    if (this.redis.up) await this.beatOrSay();
    return this.live;
  }

  /** A beat whose failure is logged (at most once a minute: it fails every second while Redis is away), never thrown. */
  private async beatOrSay(): Promise<void> {
    try {
      await this.beat();
    } catch (error) {
      const line = this.failures.due('beat');
      if (line) this.log('cluster.beat-failed', { error: (error as Error).message, failures: line.count, next: 'beating on every second' });
    }
  }

  async beat(): Promise<void> {
    if (this.stopped) return;
    const mine = this.url ? `${this.url}\t${this.tunnels()}\t${this.leaving ? 1 : 0}` : '';
    const reply = (await this.redis.run(BEAT, [NODES, SEEN], [this.url ? this.id : '', mine, SILENT_MS])) as Reply[];
    const next = new Map<string, NodeEntry>();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const [url, tunnels, leaving] = String(reply[i + 1]).split('\t');
      // Whatever else is in Redis is no node of ours.
      if (!isNodeUrl(url)) continue;
      next.set(String(reply[i]), { id: String(reply[i]), url, tunnels: Number(tunnels) || 0, leaving: leaving === '1' });
    }
    const before = this.nodes;
    this.nodes = next;
    this.peers = new Set([...next.values()].filter((n) => n.id !== this.id).map((n) => new URL(n.url).hostname.replace(/^\[|\]$/g, '')));
    for (const [id, entry] of next) if (!before.has(id) && id !== this.id) this.log('cluster.node-joined', { id, url: entry.url });
    for (const [id, entry] of before) {
      if (next.has(id)) continue;
      this.log('cluster.node-left', { id, url: entry.url });
      // A node restarted at the same address is a new node at the old URL: its connections stay.
      if (!this.live.some((other) => other.url === entry.url)) this.departed(entry);
    }
  }
}

function isNodeUrl(url: string): boolean {
  try {
    return new URL(url).protocol === 'http:';
  } catch {
    return false;
  }
}
