/**
 * Names across the cluster: the node's own Registry keeps the tunnels connected here, and Redis
 * decides who may hold a name. A name is a key claimed atomically (a Lua script: absent → ours;
 * present with the same resume digest → ours, wherever it was; otherwise taken) with a lease the
 * holding node renews while the agent is connected and through its grace period. A node that dies
 * renews nothing, so its leases run out by themselves, a grace period after its last renewal.
 *
 *   porthole:name:<name>     "<node id> <resume digest>"            PX lease
 *   porthole:token:<digest>  sorted set of names, scored by lease end (--max-tunnels-per-token, cluster-wide)
 *   porthole:names           channel: "<name> <node id>" when a name is claimed, "<name> " when it is freed
 *
 * Resume secrets and tokens are kept only as digests keyed with --cluster-secret.
 */
import { createHmac } from 'node:crypto';
import type { Hello } from '../../core/protocol.js';
import type { AccessRules } from '../access.js';
import { CloseCode } from '../../core/protocol.js';
import type { Tunnel } from '../../core/tunnel.js';
import type { Log } from '../log.js';
import {
  limitMessage,
  nameProblem,
  randomName,
  refuse,
  resumeSecret,
  secretsMatch,
  takenMessage,
  type Claim,
  type Deferral,
  type NameClaims,
  type Registration,
  type Registry,
} from '../registry.js';
import type { NodeDirectory } from './nodeDirectory.js';
import { script, type RedisLink, type Reply } from './redis.js';

export const NAMES_CHANNEL = 'porthole:names';
export const NAME_KEY = 'porthole:name:';
const TOKEN_KEY = 'porthole:token:';
/** How often the leases of the names held here are renewed. */
const RENEW_MS = 5_000;
/** Names renewed per script call. */
const RENEW_BATCH = 500;
/**
 * After Redis comes back (maybe empty), every node re-claims what it holds at once; for this long no
 * node grants a name that Redis does not know, so a returning name cannot go to a new agent first.
 */
const SETTLE_MS = 3_000;
const RANDOM_ATTEMPTS = 8;

const CLAIM = script(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local lease = tonumber(ARGV[3])
local held = redis.call('GET', KEYS[1])
if held then
  local sep = string.find(held, ' ', 1, true)
  local owner = string.sub(held, 1, sep - 1)
  if string.sub(held, sep + 1) ~= ARGV[2] then return {'taken', owner, redis.call('PTTL', KEYS[1])} end
  redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', lease)
  redis.call('ZADD', KEYS[2], now + lease, ARGV[6])
  redis.call('PEXPIRE', KEYS[2], lease)
  redis.call('PUBLISH', ARGV[7], ARGV[6] .. ' ' .. ARGV[1])
  return {'resumed', owner}
end
if ARGV[5] ~= '1' then return {'settling'} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if not redis.call('ZSCORE', KEYS[2], ARGV[6]) then
  local owned = redis.call('ZCARD', KEYS[2])
  if owned >= tonumber(ARGV[4]) then return {'limit', tostring(owned)} end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', lease)
redis.call('ZADD', KEYS[2], now + lease, ARGV[6])
redis.call('PEXPIRE', KEYS[2], lease)
redis.call('PUBLISH', ARGV[7], ARGV[6] .. ' ' .. ARGV[1])
return {'new'}
`);

/** Renews (or, after Redis lost them, re-creates) this node's leases; returns the names another node holds now. */
const RENEW = script(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local lease = tonumber(ARGV[2])
local lost = {}
local tokens = {}
for i, key in ipairs(KEYS) do
  local name, digest, tokenKey = ARGV[3 + i * 3 - 2], ARGV[3 + i * 3 - 1], ARGV[3 + i * 3]
  local mine = ARGV[1] .. ' ' .. digest
  local held = redis.call('GET', key)
  if held == false or held == mine then
    redis.call('SET', key, mine, 'PX', lease)
    redis.call('ZADD', tokenKey, now + lease, name)
    tokens[tokenKey] = true
    if held == false then redis.call('PUBLISH', ARGV[3], name .. ' ' .. ARGV[1]) end
  else
    lost[#lost + 1] = name
  end
end
for tokenKey in pairs(tokens) do redis.call('PEXPIRE', tokenKey, lease) end
return lost
`);

const RELEASE = script(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] .. ' ' .. ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[3] .. ' ')
return 1
`);

export interface RedisRegistryOptions {
  registry: Registry;
  redis: RedisLink;
  directory: NodeDirectory;
  clusterSecret: string;
  gracePeriodMs: number;
  maxTunnelsPerToken: number;
  log: Log;
}

export class RedisRegistry implements NameClaims {
  private readonly leaseMs: number;
  private timer?: NodeJS.Timeout;
  private settleUntil = 0;
  private renewing?: Promise<void>;

  constructor(private readonly options: RedisRegistryOptions) {
    this.leaseMs = options.gracePeriodMs + 3 * RENEW_MS;
  }

  /** Starts renewing, and re-claims everything held here whenever Redis comes back. */
  start(): void {
    const { redis } = this.options;
    redis.on('up', () => {
      this.settleUntil = Date.now() + SETTLE_MS;
      this.renewOrSay();
    });
    this.timer = setInterval(() => this.renewOrSay(), RENEW_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async claim(hello: Hello, owner: string, tunnel: Tunnel, access?: AccessRules): Promise<Claim | Deferral> {
    const { registry, redis, directory } = this.options;
    const wanted = hello.subdomain?.toLowerCase();
    if (wanted !== undefined) {
      const problem = nameProblem(wanted);
      if (problem) return refuse('invalid-name', problem);
    }
    if (!redis.up) {
      // A name this node holds can go back to its own agent; anything else could collide with another node's.
      const local = wanted === undefined ? undefined : registry.lookup(wanted);
      if (local && hello.resume && secretsMatch(hello.resume, local.resume)) {
        return { ok: true, resumed: true, ...registry.hold(local.subdomain, owner, local.resume, tunnel, access) };
      }
      return { ok: false, retry: 'the relay cluster cannot reach Redis right now, so it cannot check the name; retrying' };
    }
    const resume = resumeSecret(hello);
    const digest = this.digest('resume', resume);
    for (let attempt = 0; attempt < (wanted === undefined ? RANDOM_ATTEMPTS : 1); attempt++) {
      const name = wanted ?? randomName((n) => registry.lookup(n) !== undefined);
      let reply = await this.run(name, digest, owner, Date.now() >= this.settleUntil);
      if (reply[0] === 'settling') {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, this.settleUntil - Date.now())));
        reply = await this.run(name, digest, owner, true);
      }
      const [outcome, detail, ttl] = reply;
      if (outcome === 'new' || outcome === 'resumed') {
        return { ok: true, resumed: outcome === 'resumed', ...registry.hold(name, owner, resume, tunnel, access) };
      }
      if (outcome === 'limit') return refuse('limit', limitMessage(Number(detail)));
      if (outcome === 'taken' && wanted !== undefined) {
        const holder = directory.entry(String(detail));
        return refuse('taken', takenMessage(name, holder && !holder.leaving ? undefined : Number(ttl)));
      }
    }
    return { ok: false, retry: 'no free random name was found; retrying' };
  }

  /** The registry freed a name (clean close, grace period over): free it in Redis, if it is still ours. */
  release(registration: Registration): void {
    const { redis, directory, log } = this.options;
    if (!redis.up) return; // the lease runs out by itself
    redis
      .run(
        RELEASE,
        [NAME_KEY + registration.subdomain, this.tokenKey(registration.owner)],
        [directory.id, this.digest('resume', registration.resume), registration.subdomain, NAMES_CHANNEL],
      )
      .catch((error: Error) => log('cluster.release-failed', { tunnel: registration.subdomain, error: error.message }));
  }

  /** Another node announced `name` as its own: if it is held here, check Redis and let it go. */
  async claimedElsewhere(name: string): Promise<void> {
    const { registry, redis, directory, log } = this.options;
    if (!registry.lookup(name)) return;
    let held: string | null;
    try {
      held = await redis.get(NAME_KEY + name);
    } catch (error) {
      // Kept for now: the next renewal finds out whether another node holds it.
      return log('cluster.check-failed', { tunnel: name, error: (error as Error).message, next: 'the next renewal decides' });
    }
    if (held === null || held.startsWith(`${directory.id} `)) return;
    this.lost(name, 'it reconnected to another relay node');
  }

  /** renew() from a timer or an event, where nothing would catch what it throws. */
  private renewOrSay(): void {
    this.renew().catch((error: Error) => this.options.log('cluster.renew-failed', { error: error.message }));
  }

  /** Renews every lease held here, in batches; re-creates those Redis lost and drops those another node took. */
  renew(): Promise<void> {
    this.renewing ??= this.renewAll().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renewAll(): Promise<void> {
    const { registry, redis, directory, log } = this.options;
    if (!redis.up) return;
    const held = [...registry.registrations()];
    for (let i = 0; i < held.length; i += RENEW_BATCH) {
      const batch = held.slice(i, i + RENEW_BATCH);
      const args: (string | number)[] = [directory.id, this.leaseMs, NAMES_CHANNEL];
      for (const r of batch) args.push(r.subdomain, this.digest('resume', r.resume), this.tokenKey(r.owner));
      try {
        const lost = (await redis.run(
          RENEW,
          batch.map((r) => NAME_KEY + r.subdomain),
          args,
        )) as Reply[];
        for (const name of lost) this.lost(String(name), 'another agent holds it now');
      } catch (error) {
        log('cluster.renew-failed', { tunnels: batch.length, error: (error as Error).message });
        return;
      }
    }
  }

  private lost(name: string, why: string): void {
    const registration = this.options.registry.drop(name);
    if (!registration) return;
    this.options.log('cluster.name-moved', { tunnel: name, why });
    registration.tunnel?.close(CloseCode.replaced, `this tunnel moved: ${why}`);
  }

  private async run(name: string, digest: string, owner: string, mayCreate: boolean): Promise<string[]> {
    const { redis, directory, maxTunnelsPerToken } = this.options;
    const reply = await redis.run(
      CLAIM,
      [NAME_KEY + name, this.tokenKey(owner)],
      [directory.id, digest, this.leaseMs, maxTunnelsPerToken, mayCreate ? '1' : '0', name, NAMES_CHANNEL],
    );
    return (reply as Reply[]).map(String);
  }

  private tokenKey(owner: string): string {
    return TOKEN_KEY + this.digest('token', owner);
  }

  private digest(purpose: string, secret: string): string {
    return createHmac('sha256', this.options.clusterSecret).update(`${purpose}\n${secret}`).digest('base64url').slice(0, 24);
  }
}
