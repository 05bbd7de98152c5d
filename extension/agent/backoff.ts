/**
 * When the agent tries the relay again: exponential backoff with full jitter, so a crowd of agents
 * that lost the same relay spreads over the whole window, and when it gives up before the first
 * success (the relay is then likely wrong, not down).
 */
import type { Verdict } from './relayConnection.js';

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** Before the first success, give up after this many failed tries that count (not "try again later"). */
const INITIAL_ATTEMPTS = 5;

export class Backoff {
  /** Tries since the tunnel was last live (or since the start): the backoff grows with them. */
  attempt = 0;
  /** Of those, the ones that count towards giving up. */
  private failures = 0;

  /** The tunnel came up: the next loss starts from the first delay again. */
  reset(): void {
    this.attempt = 0;
    this.failures = 0;
  }

  /** Notes a failed try; the delay before the next, or undefined to give up (only before the first success). */
  next(verdict: Extract<Verdict, { retry: true }>, everLive: boolean): number | undefined {
    this.attempt++;
    if (verdict.counts) this.failures++;
    if (!everLive && this.failures >= INITIAL_ATTEMPTS) return undefined;
    const ceiling = verdict.soon ? FIRST_RETRY_MS : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.attempt - 1));
    return Math.max(Math.round(Math.random() * ceiling), Math.min(verdict.waitMs ?? 0, MAX_RETRY_MS));
  }
}
