/**
 * How many connections the relay's public listeners hold, and from whom. Three bounds, checked the
 * moment a connection is accepted, before it has sent a byte:
 * - per client address (an IPv4 address, or an IPv6 prefix: /64 by default, one host's usual share);
 * - on all connections together (--max-connections);
 * - the top tenth of those slots is a reserve that visitors never fill. A connection accepted into it
 *   may reach only the relay's own endpoints (agents connecting, health, metrics, the status page),
 *   and each address may hold only a few reserve slots, so one busy neighbour cannot take them all.
 * An agent that has registered no longer counts against its address: its token's tunnel limit bounds it.
 */
import fs from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import os from 'node:os';

export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 256;
export const DEFAULT_IPV6_PREFIX = 64;
/** Without /proc (not Linux), the global cap when none is given. */
const FALLBACK_MAX_CONNECTIONS = 10_000;
/** Connections one address may hold in the reserve: an agent's reconnect burst, a health checker. */
export const RESERVE_PER_ADDRESS = 8;

export interface ConnectionLimitsOptions {
  /** All connections on the public listeners together. */
  maxConnections: number;
  /** Connections from one address (IPv4) or one IPv6 prefix; 0 for no limit. */
  maxPerAddress: number;
  /** How many leading bits of an IPv6 address name one client. */
  ipv6Prefix: number;
  /** Addresses held to no per-address bound: the other nodes of a cluster, which pass many visitors on. */
  exempt?(remoteAddress: string): boolean;
}

/** One accepted connection's place in the count. */
export interface Slot {
  /** The client it is counted under: an IPv4 address, or an IPv6 prefix such as 2001:db8:0:1::/64. */
  readonly address: string;
  /** Accepted into the reserve: only the relay's own endpoints, until visitors have room again. */
  reserved: boolean;
  /** False once an agent registered on it: then it no longer counts against its address. */
  counted: boolean;
}

/** Over the address's limit, or the relay (or this address's share of the reserve) is full. */
export type RefusalReason = 'address' | 'full';
export type ConnectionAdmission = { ok: true; slot: Slot } | { ok: false; reason: RefusalReason; address: string };

interface AddressCount {
  open: number;
  reserved: number;
}

export class ConnectionLimits {
  /** Slots above the visitors' share; at least one. */
  readonly reserve: number;
  /** Connections open now. */
  open = 0;
  /** Of them, accepted into the reserve. */
  reserved = 0;
  private readonly byAddress = new Map<string, AddressCount>();

  constructor(readonly options: ConnectionLimitsOptions) {
    this.reserve = Math.max(1, Math.floor(options.maxConnections / 10));
  }

  /** Counts a connection from `remoteAddress` just accepted, or says why it must be refused. */
  admit(remoteAddress: string): ConnectionAdmission {
    const address = clientAddress(remoteAddress, this.options.ipv6Prefix);
    const count = this.byAddress.get(address);
    if (count && this.options.maxPerAddress > 0 && count.open >= this.options.maxPerAddress && !this.options.exempt?.(remoteAddress))
      return { ok: false, reason: 'address', address };
    const reserved = !this.visitorsHaveRoom();
    if (this.open >= this.options.maxConnections || (reserved && count && count.reserved >= RESERVE_PER_ADDRESS))
      return { ok: false, reason: 'full', address };
    this.open++;
    if (reserved) this.reserved++;
    this.count(address, 1, reserved ? 1 : 0);
    return { ok: true, slot: { address, reserved, counted: true } };
  }

  /**
   * A request for a tunnel arrived on a reserve connection: it becomes an ordinary visitor
   * connection if visitors have room again (true); otherwise it must be refused (false).
   */
  promote(slot: Slot): boolean {
    if (!slot.reserved) return true;
    if (!this.visitorsHaveRoom()) return false;
    slot.reserved = false;
    this.reserved--;
    if (slot.counted) this.count(slot.address, 0, -1);
    return true;
  }

  /** An agent registered on this connection: from now on only its token's tunnel limit bounds it. */
  exempt(slot: Slot): void {
    if (!slot.counted) return;
    slot.counted = false;
    this.count(slot.address, -1, slot.reserved ? -1 : 0);
  }

  /** The connection closed. */
  release(slot: Slot): void {
    this.open--;
    if (slot.reserved) this.reserved--;
    if (slot.counted) this.count(slot.address, -1, slot.reserved ? -1 : 0);
  }

  /** Connections `address` (as counted, e.g. a /64) holds now. */
  heldBy(address: string): number {
    return this.byAddress.get(address)?.open ?? 0;
  }

  /** Connections outside the reserve (visitors, and agents that came in while there was room) leave room for one more. */
  private visitorsHaveRoom(): boolean {
    return this.open - this.reserved < this.options.maxConnections - this.reserve;
  }

  private count(address: string, open: number, reserved: number): void {
    const count = this.byAddress.get(address) ?? { open: 0, reserved: 0 };
    count.open += open;
    count.reserved += reserved;
    if (count.open > 0) this.byAddress.set(address, count);
    else this.byAddress.delete(address);
  }
}

/**
 * The client an address is counted as. IPv4 as it is (also when it arrives IPv4-mapped, ::ffff:a.b.c.d,
 * on a dual-stack listener: masking that to /64 would put every IPv4 client in one bucket). IPv6 cut
 * to its first `prefix` bits: one host usually holds a whole /64 and picks new addresses in it at will
 * (privacy addresses), so counting single IPv6 addresses would bound nothing.
 */
export function clientAddress(address: string, prefix: number): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (isIPv4(address) || !isIPv6(address.replace(/%.*$/, ''))) return address;
  const groups = ipv6Groups(address.replace(/%.*$/, ''));
  if (prefix >= 128) return formatIpv6(groups);
  const masked = groups.map((group, i) => {
    const bits = Math.min(16, Math.max(0, prefix - i * 16));
    return bits === 0 ? 0 : group & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `${formatIpv6(masked)}/${prefix}`;
}

/** The eight 16-bit groups of a valid IPv6 address, `::` expanded and an embedded IPv4 tail converted. */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const ipv4Tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (ipv4Tail) {
    const [a, b, c, d] = ipv4Tail.slice(1).map(Number);
    text = `${text.slice(0, ipv4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  return [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((g) => Number.parseInt(g, 16));
}

/** RFC 5952 text: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

/** What one open connection costs the relay, about: a TLS one, idle (a plain HTTP one is nearer 10 kB). */
export const BYTES_PER_CONNECTION = 48 * 1024;

/**
 * The global cap when none is given: nine tenths of the process's open-files limit (each connection
 * holds one descriptor; the rest is for refusals under way, certificates, DNS and the like), but no
 * more connections than fit in half the memory the relay may use, so that a small server runs out of
 * slots before it runs out of memory. Node raises its soft open-files limit to the hard one at start,
 * and /proc shows the raised value.
 */
export function defaultMaxConnections(limits: string | null = readProcLimits(), memoryBytes = availableMemory()): number {
  const openFiles = descriptorLimit(limits);
  const byDescriptors = openFiles === undefined ? FALLBACK_MAX_CONNECTIONS : Math.floor(openFiles * 0.9);
  const byMemory = Math.floor(memoryBytes / 2 / BYTES_PER_CONNECTION);
  return Math.max(16, Math.min(byDescriptors, byMemory));
}

/** The machine's memory, or the cgroup's limit on it (a container, systemd's MemoryMax=) when lower. */
function availableMemory(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 ? Math.min(constrained, os.totalmem()) : os.totalmem();
}

/** The soft "Max open files" of /proc/self/limits text, if there is one (null: no /proc). */
export function descriptorLimit(limits: string | null = readProcLimits()): number | undefined {
  const soft = /^Max open files\s+(\d+)/m.exec(limits ?? '')?.[1];
  return soft === undefined ? undefined : Number(soft);
}

function readProcLimits(): string | null {
  try {
    return fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null; // not Linux: the fallback applies
  }
}
