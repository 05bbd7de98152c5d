/**
 * Time as the tunnel core and the relay see it. Grace periods, heartbeats and handshake deadlines
 * read it from here, so a test can drive them by hand instead of sleeping through them.
 */

/** A timer a Clock set, to hand back to its `cancel`. */
export type Timer = object;

/** The real clock, or a test's. Its timers never keep the process alive on their own. */
export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
  /** Calls `callback` once, `ms` from now. */
  after(ms: number, callback: () => void): Timer;
  /** Calls `callback` every `ms`. */
  every(ms: number, callback: () => void): Timer;
  /** Stops a timer of either kind; undefined is ignored. */
  cancel(timer: Timer | undefined): void;
}

/** Real time, on Node's timers (unref'd). */
export const systemClock: Clock = {
  now: () => Date.now(),
  after: (ms, callback) => setTimeout(callback, ms).unref(),
  every: (ms, callback) => setInterval(callback, ms).unref(),
  // Node's clearTimeout stops intervals too: both are Timeout objects.
  cancel: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};
