/**
 * The access rules a registration keeps, from its HELLO's password and access policy. They are
 * plain JSON with digests, never the secrets, so a cluster can store and share them as they are;
 * each relay compiles them (ranges, globs) once and keeps that beside them.
 */
import { parsePolicy, type ParsedPolicy } from '../core/access.js';
import type { AccessSummary, Hello } from '../core/protocol.js';
import { keyedDigest, linkCookieValue, newDigestKey } from './secrets.js';

export interface AccessRules {
  /** Key of the digests below (base64url), random per registration. */
  digestKey: string;
  /** Digest of `user:password`: visitors give these with HTTP Basic. */
  password?: string;
  /** Digest of the private link's key. */
  linkKey?: string;
  /** Digest of the cookie a visitor gets for opening the private link. */
  linkCookie?: string;
  allowIps?: string[];
  openPaths?: string[];
}

/** The rules with their ranges and globs parsed. */
export interface CompiledAccess extends ParsedPolicy {
  rules: AccessRules;
}

/** The rules for a HELLO: undefined for a public share, an error sentence for a policy that is wrong. */
export function accessRules(hello: Hello): AccessRules | undefined | { error: string } {
  const policy = hello.access ?? {};
  const parsed = parsePolicy(policy);
  if ('error' in parsed) return parsed;
  if (!hello.basicAuth && policy.linkKey === undefined && parsed.ranges.length === 0 && parsed.globs.length === 0) return undefined;
  const digestKey = newDigestKey();
  const rules: AccessRules = { digestKey };
  if (hello.basicAuth) rules.password = keyedDigest(digestKey, hello.basicAuth);
  if (policy.linkKey !== undefined) {
    rules.linkKey = keyedDigest(digestKey, policy.linkKey);
    rules.linkCookie = keyedDigest(digestKey, linkCookieValue(policy.linkKey));
  }
  if (parsed.ranges.length > 0) rules.allowIps = policy.allowIps;
  if (parsed.globs.length > 0) rules.openPaths = policy.openPaths;
  return rules;
}

const compiled = new WeakMap<AccessRules, CompiledAccess>();

/** The rules, compiled; rules that come from a HELLO always compile (they were checked there). */
export function compileAccess(rules: AccessRules): CompiledAccess {
  let entry = compiled.get(rules);
  if (!entry) {
    const parsed = parsePolicy({ allowIps: rules.allowIps, openPaths: rules.openPaths });
    entry = 'error' in parsed ? { rules, ranges: [], globs: [] } : { rules, ...parsed };
    compiled.set(rules, entry);
  }
  return entry;
}

/** What WELCOME tells the agent is enforced. */
export function summarize(rules: AccessRules | undefined): AccessSummary {
  return {
    password: Boolean(rules?.password),
    privateLink: Boolean(rules?.linkKey),
    allowIps: rules?.allowIps?.length ?? 0,
    openPaths: rules?.openPaths?.length ?? 0,
  };
}
