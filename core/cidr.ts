/**
 * IP address ranges for a share's allow-list: `10.0.0.0/8`, `2001:db8::/32`, or a single address.
 *
 * IPv4 and IPv6 are separate families. An IPv4-mapped IPv6 address (`::ffff:192.0.2.7`, what a
 * dual-stack listener reports for an IPv4 client) is an IPv4 address, and a range written in that
 * form (`::ffff:10.0.0.0/104`) is the IPv4 range it covers (`10.0.0.0/8`).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed range: its family, the network's bytes (4 or 16), and the prefix length. */
export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

/** The range `text` names, or a sentence saying what is wrong with it. */
export function parseCidr(text: string): Cidr | { error: string } {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const bytes = parseIp(address);
  if (!bytes)
    return { error: `"${text}" is not an IP range: write an address or an address/prefix, e.g. 203.0.113.0/24 or 2001:db8::/32.` };
  const bits = bytes.length * 8;
  const prefixText = slash < 0 ? String(bits) : trimmed.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix >= 0 && prefix <= bits)) {
    return { error: `"${text}" has an invalid prefix length: an IPv${bits === 32 ? 4 : 6} range takes /0 to /${bits}.` };
  }
  const network = masked(bytes, prefix);
  if (!sameBytes(network, bytes)) {
    return { error: `"${text}" has bits set past its /${prefix} prefix: did you mean ${formatIp(network)}/${prefix}?` };
  }
  const mapped = bytes.length === 16 && isMappedV4(bytes);
  if (mapped && prefix >= 96) return { family: 4, bytes: bytes.subarray(12), prefix: prefix - 96 };
  return { family: bytes.length === 4 ? 4 : 6, bytes, prefix };
}

/** True when the visitor's `address` (as Node reports it: IPv4, IPv6, IPv4-mapped, or with a %zone) is inside `range`. */
export function cidrContains(range: Cidr, address: string): boolean {
  let bytes = parseIp(address.replace(/%.*$/, ''));
  if (!bytes) return false;
  if (bytes.length === 16 && isMappedV4(bytes)) bytes = bytes.subarray(12);
  if ((bytes.length === 4 ? 4 : 6) !== range.family) return false;
  return sameBytes(masked(bytes, range.prefix), range.bytes);
}

/** An IPv4 address as 4 bytes, an IPv6 address as 16; undefined for anything else. */
function parseIp(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []).flatMap(hextets);
  const left = groups(head);
  const right = groups(tail);
  const words = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

/** One colon-separated group as 16-bit words: a hex group, or an embedded dotted IPv4 tail (two words). */
function hextets(group: string): number[] {
  if (!group.includes('.')) return [Number.parseInt(group, 16)];
  const [a, b, c, d] = group.split('.').map(Number);
  return [(a << 8) | b, (c << 8) | d];
}

function isMappedV4(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function masked(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] = bytes[i] & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Dotted IPv4, or IPv6 as eight groups (uncompressed: it only appears in a suggestion). */
function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return words.join(':');
}
