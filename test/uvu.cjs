#!/usr/bin/env node
// The uvu runner of the test stages (test/run.mjs): `node test/uvu.cjs DIR [PATTERN]` runs what
// `uvu -r tsx DIR PATTERN` runs, plus what an unattended run on a busy machine needs:
// - a test or hook that has not settled after its time limit fails with its name, and the rest go on;
// - a process whose tests have all run but which does not exit (a server, socket, child process or
//   timer left open) is ended after a grace period, naming what it held, and the run fails: the
//   stage no longer sits out its whole limit in silence;
// - SIGTERM (the stage's limit in test/run.mjs) says which test was running and what was open.
// PORTHOLE_FAIL_AT_ASSERT=N makes the N-th assertion of every test fail: a run with 1, 2, 3… shows
// whether each suite cleans up after a test that fails midway (the run must end, naming nothing).
// It wraps uvu's suite() as uvu 0.5 defines it, and says so if uvu changes under it.
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const net = require('node:net');
const { ChildProcess } = require('node:child_process');

// uvu runs at once after the first test file unless it believes it was started by its own CLI.
globalThis.UVU_DEFER = 1;
const uvu = require('uvu');
const { parse } = require('uvu/parse');

const SCALE = Number(process.env.PORTHOLE_FUZZ_SCALE ?? 1);
/** A test (or hook) still running after this has hung: none needs a minute (the fuzz stage scales it). */
const TEST_LIMIT_MS = Number(process.env.PORTHOLE_TEST_LIMIT_MS ?? 120_000) * SCALE;
/** After the last test: time for closes under way to finish before the process counts as lingering. */
const LINGER_MS = Number(process.env.PORTHOLE_LINGER_MS ?? 10_000);

let running = 'loading the test files';
const durations = [];
/** The test or hook during which each open handle was first seen, to say who left it open. */
const openedDuring = new WeakMap();
const activeHandles = () => (typeof process._getActiveHandles === 'function' ? process._getActiveHandles() : []);

/** The test (or hook) whose code is running, through its callbacks too: a timer an agent sets later is still its test's. */
const testOfCode = new AsyncLocalStorage();
/** Intervals, and timeouts long enough to outlive a test: who set them, for the lingering report. */
const longTimers = new Map();
for (const name of ['setTimeout', 'setInterval']) {
  const original = globalThis[name];
  const recording = function (callback, ms, ...args) {
    const timer = original.call(this, callback, ms, ...args);
    if (name === 'setInterval' || ms >= 5000) {
      if (longTimers.size > 1000) for (const t of longTimers.keys()) if (t._destroyed) longTimers.delete(t);
      longTimers.set(
        timer,
        `${name === 'setInterval' ? 'an interval' : 'a timeout'} of ${ms} ms set in ${testOfCode.getStore() ?? running}`,
      );
    }
    return timer;
  };
  Object.defineProperties(recording, Object.getOwnPropertyDescriptors(original));
  globalThis[name] = recording;
}

const failAtAssert = Number(process.env.PORTHOLE_FAIL_AT_ASSERT ?? 0);
let assertions = 0;
if (failAtAssert > 0) {
  const assert = require('uvu/assert');
  const failing = (check) =>
    Object.assign((...args) => {
      if (++assertions === failAtAssert) throw new Error(`failure injected at assertion ${failAtAssert} (PORTHOLE_FAIL_AT_ASSERT)`);
      return check(...args);
    }, check);
  for (const [name, check] of Object.entries(assert)) if (name !== 'Assertion') assert[name] = failing(check);
  for (const [name, check] of Object.entries(assert.not)) assert.not[name] = failing(check);
}

/** `fn`, failing with `label` if it has not settled within the limit. */
function bounded(label, fn) {
  return async (...args) => {
    running = label;
    const started = performance.now();
    let timer;
    const limit = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label}: not finished after ${TEST_LIMIT_MS / 1000} s`)), TEST_LIMIT_MS);
    });
    try {
      return await Promise.race([testOfCode.run(label, () => fn(...args)), limit]);
    } finally {
      clearTimeout(timer);
      durations.push([label, performance.now() - started]);
      for (const handle of activeHandles()) if (!openedDuring.has(handle)) openedDuring.set(handle, label);
    }
  };
}

/** uvu's suite with every test and hook bounded and named after its file and suite. */
function guarded(test, file, suiteName) {
  if (typeof test.before?.each !== 'function' || typeof test.after?.each !== 'function' || typeof test.run !== 'function')
    throw new Error("uvu's suite() no longer has the shape test/uvu.cjs wraps (uvu 0.5): update the runner with uvu.");
  const label = (what) => [file(), suiteName, what].filter(Boolean).join(' › ');
  const hook = (register, what) => (fn) => register(bounded(label(what), fn));
  const counted =
    (handler) =>
    (...args) => {
      assertions = 0;
      return handler(...args);
    };
  const wrapped = (title, handler) => test(title, bounded(label(title), counted(handler)));
  wrapped.only = (title, handler) => test.only(title, bounded(label(title), counted(handler)));
  wrapped.skip = test.skip;
  wrapped.run = test.run;
  wrapped.before = hook(test.before, 'before');
  wrapped.before.each = hook(test.before.each, 'before each');
  wrapped.after = hook(test.after, 'after');
  wrapped.after.each = hook(test.after.each, 'after each');
  return wrapped;
}

/** What keeps this process alive, in words: servers, sockets, child processes, timers. */
function openHandles() {
  const stdio = new Set([process.stdin, process.stdout, process.stderr]);
  const described = activeHandles()
    .filter((h) => !stdio.has(h))
    .map((h) => `${describe(h)}${openedDuring.has(h) ? ` (opened in ${openedDuring.get(h)})` : ''}`);
  const known = [...longTimers].filter(([t]) => !t._destroyed && t.hasRef()).map(([, what]) => what);
  described.push(...known);
  const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length - known.length;
  if (timers > 0) described.push(`${timers} other timer${timers === 1 ? '' : 's'}`);
  return described.length > 0 ? described : process.getActiveResourcesInfo();
}

function describe(handle) {
  if (handle instanceof net.Server) {
    const address = handle.address();
    return `a server listening on ${typeof address === 'string' ? address : `${address?.address}:${address?.port}`}`;
  }
  if (handle instanceof ChildProcess) return `child process ${handle.pid}: ${handle.spawnargs.join(' ')}`;
  if (handle instanceof net.Socket)
    return handle.remotePort === undefined
      ? 'a pipe (a child process’s output, most likely)'
      : `a socket ${handle.localAddress}:${handle.localPort} → ${handle.remoteAddress}:${handle.remotePort}`;
  return handle?.constructor?.name ?? typeof handle;
}

function report(what) {
  console.error(
    `\n${what}. Still open:\n${openHandles()
      .map((h) => `  - ${h}`)
      .join('\n')}`,
  );
}

async function main() {
  const [dir, pattern] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: node test/uvu.cjs DIR [PATTERN]');
    process.exit(2);
  }
  let loading = '';
  const { suite } = uvu;
  uvu.suite = (name, state) => guarded(suite(name, state), () => loading, name);
  uvu.test = guarded(uvu.test, () => loading, '');

  const { suites } = await parse(dir, pattern, { require: ['tsx'] });
  // What uvu/run does, file by file, keeping the file's name for the labels.
  suites.forEach((entry, index) => {
    loading = entry.name;
    globalThis.UVU_QUEUE.push([entry.name]);
    globalThis.UVU_INDEX = index;
    require(entry.file);
  });
  await uvu.exec(false);
  running = 'nothing: every test has run';

  const slowest = durations.sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(`  Slowest:   ${slowest.map(([label, ms]) => `${label} (${(ms / 1000).toFixed(1)} s)`).join('; ')}\n`);
  setTimeout(() => {
    report(`Every test has run, but the process is still up ${LINGER_MS / 1000} s later: a test left something open`);
    process.exit(1);
  }, LINGER_MS).unref();
}

process.once('SIGTERM', () => {
  report(`Stopped from outside (the stage's time limit) while running ${running}`);
  process.exit(1);
});

main().catch((error) => {
  console.error(error.stack || error.message);
  process.exit(1);
});
