/**
 * Which node holds a tunnel, as this node last learnt it from Redis. Answers are cached for a second
 * and dropped at once when a claim or release of that name is announced, or when Redis comes back;
 * so a tunnel that moved is found again within a second even if an announcement was lost. Requests
 * for a tunnel that is moving can wait here for its next claim.
 */
import type { RedisLink } from './redis.js';
import { NAME_KEY } from './redisRegistry.js';

const CACHE_MS = 1_000;
const CACHE_ENTRIES = 50_000;

/** Where a name is: held by a node (its id), or nowhere. */
export type Owner = { node: string } | { node: undefined };

export class Routes {
  private readonly cache = new Map<string, { owner: Owner; until: number }>();
  private readonly waiting = new Map<string, Set<() => void>>();

  constructor(private readonly redis: RedisLink) {
    redis.on('up', () => this.cache.clear());
  }

  /** The node holding `name`; throws when Redis cannot be asked. */
  async owner(name: string): Promise<Owner> {
    const cached = this.cache.get(name);
    if (cached && cached.until > Date.now()) return cached.owner;
    if (!this.redis.up) throw new Error('Redis is unreachable');
    const held = await this.redis.get(NAME_KEY + name);
    const owner: Owner = { node: held === null ? undefined : held.slice(0, held.indexOf(' ')) };
    if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
    this.cache.set(name, { owner, until: Date.now() + CACHE_MS });
    return owner;
  }

  /** A claim or release of `name` was announced (pub/sub), or a node said it does not hold it. */
  changed(name: string): void {
    this.cache.delete(name);
    const waiters = this.waiting.get(name);
    if (!waiters) return;
    this.waiting.delete(name);
    for (const wake of waiters) wake();
  }

  /** Resolves at the next announcement about `name`, or after `ms`. */
  next(name: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiting.get(name) ?? new Set<() => void>();
      this.waiting.set(name, set);
      const wake = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && this.waiting.get(name) === set) this.waiting.delete(name);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  /** Requests waiting for a tunnel to come back, all names together. */
  get held(): number {
    let count = 0;
    for (const waiters of this.waiting.values()) count += waiters.size;
    return count;
  }
}
