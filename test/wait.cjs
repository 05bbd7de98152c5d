// The bounded waits of the test suites, TypeScript and plain Node alike (test/vscode's rig): polling
// until something holds, and a promise's settling with a deadline.
'use strict';

/**
 * Polls `check` until it returns a truthy value and returns that value. A check that throws counts
 * as "not yet"; its last error is part of the timeout message, which says what was waited for.
 */
async function waitFor(check, ms, what, intervalMs = 25) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * `promise`'s outcome, or a rejection naming `what` once `ms` have passed; the timer never outlives
 * the wait (a pending timer would keep the test process alive).
 */
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

module.exports = { waitFor, withTimeout };
