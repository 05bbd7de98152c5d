/**
 * A share's access policy (protocol.ts `AccessPolicy`): the checks both ends run on it, so the CLI
 * can say what is wrong before it connects, and the relay refuses what a peer sends anyway.
 */
import { randomBytes } from 'node:crypto';
import { parseCidr, type Cidr } from './cidr.js';
import { parsePathGlob, type PathGlob } from './pathGlob.js';
import type { AccessPolicy } from './protocol.js';

/** The query parameter that carries a private link's key: `https://myapp.example.dev/?porthole_key=…`. */
export const LINK_KEY_PARAM = 'porthole_key';
/** Most allow-list entries and open paths one share may have. */
const MAX_ALLOW_IPS = 64;
const MAX_OPEN_PATHS = 32;

const LINK_KEY = /^[A-Za-z0-9_-]{16,128}$/;
const KNOWN_RULES = new Set(['linkKey', 'allowIps', 'openPaths']);

/** The policy's rules, parsed. */
export interface ParsedPolicy {
  ranges: Cidr[];
  globs: PathGlob[];
}

/**
 * Parses and checks a policy; the error names the first thing wrong, in words for the person who
 * typed it (the flag's value, what a valid one looks like).
 */
export function parsePolicy(policy: AccessPolicy): ParsedPolicy | { error: string } {
  const unknown = Object.keys(policy).filter((key) => !KNOWN_RULES.has(key));
  if (unknown.length > 0) {
    return {
      error: `This relay does not know the access rule${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, so it cannot enforce ${unknown.length > 1 ? 'them' : 'it'}: update the relay.`,
    };
  }
  if (policy.linkKey !== undefined && !LINK_KEY.test(policy.linkKey)) {
    return { error: 'The private link key must be 16 to 128 URL-safe characters (letters, digits, - and _).' };
  }
  const allowIps = policy.allowIps ?? [];
  const openPaths = policy.openPaths ?? [];
  if (allowIps.length > MAX_ALLOW_IPS) return { error: `An IP allow-list takes at most ${MAX_ALLOW_IPS} ranges (--allow-ip).` };
  if (openPaths.length > MAX_OPEN_PATHS) return { error: `A share takes at most ${MAX_OPEN_PATHS} open paths (--public-path).` };
  const ranges: Cidr[] = [];
  for (const text of allowIps) {
    const range = parseCidr(text);
    if ('error' in range) return { error: `--allow-ip ${range.error}` };
    ranges.push(range);
  }
  const globs: PathGlob[] = [];
  for (const text of openPaths) {
    const glob = parsePathGlob(text);
    if ('error' in glob) return { error: `--public-path: ${glob.error}` };
    globs.push(glob);
  }
  return { ranges, globs };
}

/** A fresh private-link key: 24 random bytes, 32 URL-safe characters. */
export function newLinkKey(): string {
  return randomBytes(24).toString('base64url');
}

/** The link a visitor opens: the share's public URL with the key in the query. */
export function privateLink(url: string, key: string): string {
  const link = new URL(url);
  link.searchParams.set(LINK_KEY_PARAM, key);
  return link.toString();
}
