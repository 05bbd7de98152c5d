/** Comparing secrets (tokens, resume secrets, passwords) in constant time. */
import { timingSafeEqual } from 'node:crypto';

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
