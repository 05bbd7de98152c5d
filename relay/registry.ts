/**
 * Which names are taken, by whom, and for how long after their agent drops.
 *
 * A name belongs to the agent that holds its resume secret. When that agent's connection drops
 * without a clean close, the name stays reserved for a grace period so the same agent gets the
 * same URL back; nobody else can take it meanwhile. A clean close frees it at once.
 */
import { randomBytes } from 'node:crypto';
import type { AccessRules } from './access.js';
import type { Tunnel } from '../core/tunnel.js';
import type { Hello, Refusal } from '../core/protocol.js';
import { safeEqual } from './secrets.js';
import { DNS_LABEL } from '../core/names.js';
import { systemClock, type Clock, type Timer } from '../core/clock.js';

const RESERVED_NAMES = new Set(['www', 'api', 'admin', 'relay', 'status', 'mail', '_porthole']);

const ADJECTIVES = [
  'amber',
  'brave',
  'calm',
  'eager',
  'fancy',
  'gentle',
  'happy',
  'jolly',
  'keen',
  'lively',
  'merry',
  'nimble',
  'proud',
  'quick',
  'rapid',
  'sunny',
  'swift',
  'tidy',
  'vivid',
  'witty',
  'bold',
  'bright',
  'clever',
  'cosy',
];
const NOUNS = [
  'otter',
  'falcon',
  'badger',
  'heron',
  'lynx',
  'panda',
  'robin',
  'tiger',
  'walrus',
  'koala',
  'raven',
  'bison',
  'gecko',
  'lemur',
  'moose',
  'okapi',
  'puffin',
  'quail',
  'salmon',
  'tapir',
  'yak',
  'zebra',
  'comet',
  'harbor',
];

export interface Limits {
  gracePeriodMs: number;
  maxTunnelsPerToken: number;
  /** Called when a name is freed: its agent closed cleanly or its grace period ended (not on drop() or clear()). */
  onRelease?(registration: Registration): void;
}

export interface Registration {
  readonly subdomain: string;
  readonly owner: string;
  resume: string;
  /** The live connection; undefined while the name waits for its agent to come back. */
  tunnel?: Tunnel;
  /** Who may open it, beyond anyone: plain data with digests (relay/access.ts); undefined for a public share. */
  access?: AccessRules;
  activeStreams: number;
  /** Ends the grace period; cancelled when the agent comes back. */
  graceTimer?: Timer;
  reconnectingUntil?: number;
}

/** A claim's outcome: the name, or a refusal to send the agent. */
export type Claim = { ok: true; registration: Registration; resumed: boolean; replaced?: Tunnel } | { ok: false; refusal: Refusal };
/** A cluster that cannot decide now (no Redis): the agent is told to reconnect later, and why. */
export type Deferral = { ok: false; retry: string };

/** Who may hold a name: the relay's own Registry, or a cluster's Redis leases in front of it (relay/cluster/). */
export interface NameClaims {
  /**
   * Gives `hello.subdomain` (or a fresh random name) to the connection `tunnel`, owned by `owner`
   * (the token it authenticated with). Refuses names that are invalid, reserved, or held by
   * another agent, and owners past their tunnel limit. `access` comes from the same HELLO (accessRules).
   */
  claim(hello: Hello, owner: string, tunnel: Tunnel, access?: AccessRules): Claim | Promise<Claim | Deferral>;
}

export class Registry implements NameClaims {
  private readonly names = new Map<string, Registration>();

  constructor(
    private readonly limits: Limits,
    private readonly clock: Clock = systemClock,
  ) {}

  get size(): number {
    return this.names.size;
  }

  lookup(subdomain: string): Registration | undefined {
    return this.names.get(subdomain);
  }

  registrations(): IterableIterator<Registration> {
    return this.names.values();
  }

  claim(hello: Hello, owner: string, tunnel: Tunnel, access?: AccessRules): Claim {
    const wanted = hello.subdomain?.toLowerCase();
    if (wanted !== undefined) {
      const problem = nameProblem(wanted);
      if (problem) return refuse('invalid-name', problem);
    }
    const existing = wanted === undefined ? undefined : this.names.get(wanted);
    if (existing) {
      if (!hello.resume || !secretsMatch(hello.resume, existing.resume)) {
        const reservedMs = existing.tunnel ? undefined : (existing.reconnectingUntil ?? 0) - this.clock.now();
        return refuse('taken', takenMessage(existing.subdomain, reservedMs));
      }
      return { ok: true, resumed: true, ...this.hold(existing.subdomain, owner, existing.resume, tunnel, access) };
    }
    const owned = this.ownedBy(owner);
    if (owned >= this.limits.maxTunnelsPerToken) return refuse('limit', limitMessage(owned));
    const subdomain = wanted ?? randomName((name) => this.names.has(name));
    return { ok: true, resumed: false, ...this.hold(subdomain, owner, resumeSecret(hello), tunnel, access) };
  }

  /**
   * Gives `subdomain` to `tunnel` here, whoever held it: a claim already decided (by this registry,
   * or by the cluster). A registration waiting for its agent gets it back; a live one is replaced.
   */
  hold(
    subdomain: string,
    owner: string,
    resume: string,
    tunnel: Tunnel,
    access?: AccessRules,
  ): { registration: Registration; replaced?: Tunnel } {
    const existing = this.names.get(subdomain);
    if (existing) {
      const replaced = existing.tunnel;
      this.clock.cancel(existing.graceTimer);
      existing.graceTimer = undefined;
      existing.reconnectingUntil = undefined;
      existing.resume = resume;
      existing.tunnel = tunnel;
      existing.access = access;
      return { registration: existing, replaced };
    }
    const registration: Registration = { subdomain, owner, resume, tunnel, access, activeStreams: 0 };
    this.names.set(subdomain, registration);
    return { registration };
  }

  /** Tunnels this owner holds here. */
  ownedBy(owner: string): number {
    let owned = 0;
    for (const registration of this.names.values()) if (registration.owner === owner) owned++;
    return owned;
  }

  /** The registration's connection ended: free the name now (clean) or after the grace period. */
  disconnected(registration: Registration, tunnel: Tunnel, clean: boolean): void {
    if (registration.tunnel !== tunnel) return;
    registration.tunnel = undefined;
    if (clean || this.limits.gracePeriodMs <= 0) return this.release(registration);
    registration.reconnectingUntil = this.clock.now() + this.limits.gracePeriodMs;
    registration.graceTimer = this.clock.after(this.limits.gracePeriodMs, () => {
      if (!registration.tunnel) this.release(registration);
    });
  }

  /** Forgets a name that now belongs elsewhere (another cluster node); its connection, if any, is the caller's to close. */
  drop(subdomain: string): Registration | undefined {
    const registration = this.names.get(subdomain);
    if (!registration) return undefined;
    this.clock.cancel(registration.graceTimer);
    this.names.delete(subdomain);
    return registration;
  }

  clear(): void {
    for (const registration of this.names.values()) this.clock.cancel(registration.graceTimer);
    this.names.clear();
  }

  private release(registration: Registration): void {
    if (this.names.get(registration.subdomain) !== registration) return;
    this.names.delete(registration.subdomain);
    this.limits.onRelease?.(registration);
  }
}

/** A readable random name (brave-otter-42) that `taken` says is free. */
export function randomName(taken: (name: string) => boolean): string {
  for (;;) {
    const pick = (list: string[]) => list[randomBytes(1)[0] % list.length];
    const name = `${pick(ADJECTIVES)}-${pick(NOUNS)}-${10 + (randomBytes(1)[0] % 90)}`;
    if (!taken(name)) return name;
  }
}

/** The agent's own secret when it sent a good one (after a relay restart the relay remembers nothing), or a new one. */
export function resumeSecret(hello: Hello): string {
  return hello.resume && hello.resume.length >= 16 ? hello.resume : randomBytes(18).toString('base64url');
}

/** What an agent hears when its name is held by another: in use, or kept for its agent `reservedMs` longer. */
export function takenMessage(name: string, reservedMs?: number): string {
  const why =
    reservedMs === undefined
      ? 'it is in use'
      : `it is reserved for its previous agent for ${Math.max(1, Math.ceil(reservedMs / 1000))} more seconds`;
  return `The subdomain "${name}" is already taken: ${why}.`;
}

export function limitMessage(owned: number): string {
  return `This token already has ${owned} tunnels, the most this relay allows (--max-tunnels-per-token). Stop one first.`;
}

/** Why `name` cannot be a subdomain, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (!DNS_LABEL.test(name)) {
    return `The subdomain "${name}" is not a valid name: use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.`;
  }
  if (RESERVED_NAMES.has(name)) return `The subdomain "${name}" is reserved by the relay. Choose another name.`;
  return undefined;
}

export function secretsMatch(a: string, b: string): boolean {
  return safeEqual(Buffer.from(a), Buffer.from(b));
}

export function refuse(code: Refusal['code'], message: string): Claim {
  return { ok: false, refusal: { code, message } };
}
