/**
 * Time as the tunnel core and the relay see it. Grace periods, heartbeats and handshake deadlines
 * read it from here, so a test can drive them by hand instead of sleeping through them.
 */

/** The real clock, or a test's. Timers never keep the process alive on their own. */
export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
  /** Calls `callback` once, `ms` from now; the returned function cancels it. */
  after(ms: number, callback: () => void): () => void;
  /** Calls `callback` every `ms`; the returned function stops it. */
  every(ms: number, callback: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, callback) {
    const timer = setTimeout(callback, ms).unref();
    return () => clearTimeout(timer);
  },
  every(ms, callback) {
    const timer = setInterval(callback, ms).unref();
    return () => clearInterval(timer);
  },
};
