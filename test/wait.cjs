// The one polling wait of the test suites, TypeScript and plain Node alike (test/vscode's rig).
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

module.exports = { waitFor };
