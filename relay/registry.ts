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
  graceTimer?: NodeJS.Timeout;
  reconnectingUntil?: number;
}

export type Claim = { ok: true; registration: Registration; replaced?: Tunnel } | { ok: false; refusal: Refusal };

export class Registry {
  private readonly names = new Map<string, Registration>();

  constructor(private readonly limits: Limits) {}

  get size(): number {
    return this.names.size;
  }

  lookup(subdomain: string): Registration | undefined {
    return this.names.get(subdomain);
  }

  registrations(): IterableIterator<Registration> {
    return this.names.values();
  }

  /**
   * Gives `hello.subdomain` (or a fresh random name) to the connection `tunnel`, owned by `owner`
   * (the token it authenticated with). Refuses names that are invalid, reserved, or held by
   * another agent, and owners past their tunnel limit. `access` comes from the same HELLO (accessRules).
   */
  claim(hello: Hello, owner: string, tunnel: Tunnel, access?: AccessRules): Claim {
    const wanted = hello.subdomain?.toLowerCase();
    if (wanted !== undefined) {
      const problem = nameProblem(wanted);
      if (problem) return refuse('invalid-name', problem);
    }
    const existing = wanted === undefined ? undefined : this.names.get(wanted);
    if (existing) {
      if (!hello.resume || !secretsMatch(hello.resume, existing.resume)) {
        const until = existing.tunnel
          ? 'it is in use'
          : `it is reserved for its previous agent for ${Math.ceil(((existing.reconnectingUntil ?? 0) - Date.now()) / 1000)} more seconds`;
        return refuse('taken', `The subdomain "${wanted}" is already taken: ${until}. Choose another name with --subdomain.`);
      }
      const replaced = existing.tunnel;
      clearTimeout(existing.graceTimer);
      existing.graceTimer = undefined;
      existing.reconnectingUntil = undefined;
      existing.tunnel = tunnel;
      existing.access = access;
      return { ok: true, registration: existing, replaced };
    }
    const owned = [...this.names.values()].filter((r) => r.owner === owner).length;
    if (owned >= this.limits.maxTunnelsPerToken) {
      return refuse(
        'limit',
        `This token already has ${owned} tunnels, the most this relay allows (--max-tunnels-per-token). Stop one first.`,
      );
    }
    const registration: Registration = {
      subdomain: wanted ?? this.randomName(),
      owner,
      // After a relay restart the relay remembers nothing: the agent's own secret becomes the name's.
      resume: hello.resume && hello.resume.length >= 16 ? hello.resume : randomBytes(18).toString('base64url'),
      tunnel,
      access,
      activeStreams: 0,
    };
    this.names.set(registration.subdomain, registration);
    return { ok: true, registration };
  }

  /** The registration's connection ended: free the name now (clean) or after the grace period. */
  disconnected(registration: Registration, tunnel: Tunnel, clean: boolean): void {
    if (registration.tunnel !== tunnel) return;
    registration.tunnel = undefined;
    if (clean || this.limits.gracePeriodMs <= 0) {
      this.names.delete(registration.subdomain);
      return;
    }
    registration.reconnectingUntil = Date.now() + this.limits.gracePeriodMs;
    registration.graceTimer = setTimeout(() => {
      if (!registration.tunnel) this.names.delete(registration.subdomain);
    }, this.limits.gracePeriodMs);
    registration.graceTimer.unref();
  }

  clear(): void {
    for (const registration of this.names.values()) clearTimeout(registration.graceTimer);
    this.names.clear();
  }

  private randomName(): string {
    for (;;) {
      const pick = (list: string[]) => list[randomBytes(1)[0] % list.length];
      const name = `${pick(ADJECTIVES)}-${pick(NOUNS)}-${10 + (randomBytes(1)[0] % 90)}`;
      if (!this.names.has(name)) return name;
    }
  }
}

/** Why `name` cannot be a subdomain, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (!DNS_LABEL.test(name)) {
    return `The subdomain "${name}" is not a valid name: use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.`;
  }
  if (RESERVED_NAMES.has(name)) return `The subdomain "${name}" is reserved by the relay. Choose another name.`;
  return undefined;
}

function secretsMatch(a: string, b: string): boolean {
  return safeEqual(Buffer.from(a), Buffer.from(b));
}

function refuse(code: Refusal['code'], message: string): Claim {
  return { ok: false, refusal: { code, message } };
}
