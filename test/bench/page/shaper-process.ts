/**
 * One shaper (shaper.ts) as a process of its own, so that the benchmark's browser driver, busy with
 * hundreds of network events per page, never delays the link's timers.
 *
 *   node --import tsx test/bench/page/shaper-process.ts --target HOST:PORT [--rtt MS] [--mbit N]
 *
 * Prints one JSON line, {"port":N,"windowBytes":N}; answers the IPC message 'counters' with the
 * shaper's counters. Stops on SIGTERM or when its parent goes away.
 */
import { parseArgs } from 'node:util';
import { startShaper } from './shaper';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    rtt: { type: 'string', default: '40' },
    mbit: { type: 'string', default: '50' },
  },
});
const target = /^(.+):(\d+)$/.exec(values.target ?? '');
const rttMs = Number(values.rtt);
const mbit = Number(values.mbit);
if (!target || !(rttMs >= 0) || !(mbit > 0)) {
  console.error('usage: shaper-process.ts --target HOST:PORT [--rtt MS] [--mbit N]  (RTT ≥ 0 ms, rate > 0 Mbit/s)');
  process.exit(2);
}

startShaper({ target: { host: target[1], port: Number(target[2]) }, rttMs, bitsPerSecond: mbit * 1e6 }).then(
  (shaper) => {
    console.log(JSON.stringify({ port: shaper.port, windowBytes: shaper.windowBytes }));
    process.on('message', (message) => {
      if (message === 'counters') process.send?.(shaper.counters());
    });
    process.on('disconnect', () => process.exit(0));
    process.on('SIGTERM', () => shaper.close().then(() => process.exit(0)));
  },
  (error: Error) => {
    console.error(`shaper: cannot listen: ${error.message}`);
    process.exit(1);
  },
);
