/**
 * Secrets the relay checks (tokens, resume secrets, passwords, private-link keys and cookies):
 * compared in constant time, and kept only as keyed digests where the relay need not know them.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A random key for `keyedDigest`, one per registration, stored beside its digests. */
export function newDigestKey(): string {
  return randomBytes(32).toString('base64url');
}

/** HMAC-SHA256 of `secret` under `key`, base64url: what the relay keeps instead of the secret. */
export function keyedDigest(key: string, secret: string): string {
  return createHmac('sha256', key).update(secret).digest('base64url');
}

/** True when `presented` is the secret behind `digest`, compared in constant time. */
export function digestMatches(key: string, presented: string, digest: string): boolean {
  return safeEqual(Buffer.from(keyedDigest(key, presented)), Buffer.from(digest));
}

/**
 * The private-link cookie's value for a link key: derived from the key (so any relay of a cluster
 * computes the same one, and a new key voids old cookies), yet not the key itself.
 */
export function linkCookieValue(linkKey: string): string {
  return createHmac('sha256', linkKey).update('porthole private-link cookie v1').digest('base64url');
}
