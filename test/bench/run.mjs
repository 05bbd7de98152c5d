// `npm run bench`: the tunnel against going direct to the origin, side by side in one run, on loopback.
// Prints the environment and one markdown table (also written to test/bench/last-results.md).
//
//   node test/bench/run.mjs [--dist DIR] [--seconds N] [--rounds N] [--cold-rounds N] [--tunnels N]
//                           [--only small,bulk,cold,ws,memory,cluster] [--out FILE]
//
// Everything runs as separate processes on free loopback ports: the origin (a plain Node http
// server), the relay (dist/relay.js), the agent (dist/cli.js share … --quiet) and, as load
// generator, Debian's wrk (installed with apt-get when missing). A plain Node proxy hop
// (proxy-hop.mjs) is measured alongside as a reference for what one Node hop costs, and OpenSSH's
// `ssh -R` (Debian's sshd on loopback, installed when missing) as the yardstick for bulk transfers.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { websocketRoundTrips } from './clients.mjs';
import { COLD_SIZES, coldBulk, DIRECTIONS, WARM_BYTES, warmBulk } from './bulk.mjs';
import { nodeArgs, startRedis } from './cluster.mjs';
import { ensureWrk, get, jsonLine, runWrk, sleep, start, stop, stopAllSync, waitForLine, within, wrkVersion } from './lib.mjs';
import { benchProcesses } from './processes.mjs';
import { ensureSsh, sshVersion, startSshd, startSshTunnel, stopSshd } from './ssh.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { values: flags } = parseArgs({
  options: {
    dist: { type: 'string', default: path.join(root, 'dist') },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    'cold-rounds': { type: 'string', default: '3' },
    tunnels: { type: 'string', default: '1000' },
    out: { type: 'string', default: path.join(here, 'last-results.md') },
    only: { type: 'string', default: 'small,bulk,cold,ws,memory,cluster' },
  },
});
const dist = path.resolve(flags.dist);
const seconds = Number(flags.seconds);
const rounds = Number(flags.rounds);
const coldRounds = Number(flags['cold-rounds']);
const idleTunnels = Number(flags.tunnels);
const sections = new Set(flags.only.split(','));
const MiB = 1024 * 1024;
const ECHOES = 2000;

for (const file of ['relay.js', 'cli.js']) {
  if (!fs.existsSync(path.join(dist, file))) {
    console.error(`bench: ${path.join(dist, file)} is missing. Build it first with: npm run build`);
    process.exit(2);
  }
}
process.on('exit', stopAllSync);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
// Every step is bounded on its own; this bounds the whole run too.
setTimeout(() => {
  console.error('bench: gave up after 15 minutes');
  process.exit(1);
}, 15 * 60_000).unref();

const say = (text) => console.log(`· ${text}`);

const { startOrigin, startRelay, startProxyHop, startAgent, withTunnel } = benchProcesses(dist);

/**
 * The cost of the cluster's extra hop: one origin, two relays on one Redis, the agent on the first.
 * `measure` gets the owner node and the other one, each with the tunnel's Host as seen through it.
 */
async function withCluster(measure) {
  const redis = await startRedis();
  const origin = await startOrigin();
  const owner = await startRelay('relay-owner', nodeArgs(redis));
  const other = await startRelay('relay-other', nodeArgs(redis));
  const agent = await startAgent('agent', origin, owner, 'bench', true);
  const through = (relay) => ({ ...relay, host: `bench.localhost:${relay.port}` });
  try {
    const answer = await get(`${other.base}/small`, through(other).host);
    if (answer.status !== 200) throw new Error(`the other node answered ${answer.status} "${answer.body}"`);
    return await measure({ owner: through(owner), other: through(other), agent, direct: origin });
  } finally {
    for (const proc of [agent, other, owner, origin, redis]) await stop(proc);
  }
}

/** Small GETs with wrk: a warm-up, then `rounds` runs alternating direct and each path, averaged. */
async function smallRequests(direct, tunnels) {
  const results = { direct: [] };
  for (const t of tunnels) results[t.label] = [];
  await runWrk({ url: `${direct.base}/small`, seconds: 2 });
  for (const t of tunnels) await runWrk({ url: `${t.base}/small`, host: t.host, seconds: 2 });
  for (let round = 1; round <= rounds; round++) {
    say(`small requests, round ${round} of ${rounds}`);
    results.direct.push(await runWrk({ url: `${direct.base}/small`, seconds, pids: { origin: direct.pid } }));
    for (const t of tunnels) {
      results[t.label].push(await runWrk({ url: `${t.base}/small`, host: t.host, seconds, pids: { origin: direct.pid, ...t.pids } }));
    }
  }
  for (const [label, runs] of Object.entries(results)) {
    for (const run of runs) {
      if (run.errors > 0 || run.socketErrors)
        throw new Error(`${label}: wrk saw ${run.errors} non-2xx answers, socket errors: ${run.socketErrors ?? 'none'}`);
    }
  }
  return Object.fromEntries(Object.entries(results).map(([label, runs]) => [label, combine(runs)]));
}

/** Averages wrk runs; CPU per request comes from the summed counters. */
function combine(runs) {
  const mean = (f) => runs.reduce((sum, r) => sum + f(r), 0) / runs.length;
  const requests = runs.reduce((sum, r) => sum + r.requests, 0);
  const cpuPerRequest = {};
  for (const name of Object.keys(runs[0].cpu)) cpuPerRequest[name] = runs.reduce((sum, r) => sum + r.cpu[name], 0) / requests;
  return { rps: mean((r) => r.rps), p50: mean((r) => r.p50), p99: mean((r) => r.p99), requests, cpuPerRequest };
}

/**
 * Relay memory per idle tunnel. A first round of `idleTunnels` bare agents on a fresh relay also grows
 * V8's young generation and the allocator's arenas once, as any traffic would; those agents then
 * close cleanly and a second round on the warmed relay shows what a live tunnel itself keeps.
 */
async function idleTunnelMemory(relayArgs = []) {
  const relay = await startRelay(
    'relay-memory',
    ['--max-tunnels-per-token', String(idleTunnels + 100), ...relayArgs],
    ['--expose-gc', '-r', path.join(here, 'memory-probe.cjs')],
    true,
  );
  const memory = () =>
    within(
      10_000,
      'the relay memory probe',
      new Promise((resolve) => {
        relay.child.once('message', resolve);
        relay.child.send('memory');
      }),
    );
  const connect = async (name, count) => {
    const proc = start(name, process.execPath, [path.join(here, 'idle-agents.mjs'), String(relay.port), String(count), `${name}-`], {
      cwd: root,
    });
    await waitForLine(
      proc,
      (line) => {
        const event = jsonLine(line);
        if (event?.event === 'error') throw new Error(`${name}: ${event.message}`);
        return event?.event === 'ready' ? event : undefined;
      },
      120_000,
      'ready',
    );
    await sleep(1000);
    return proc;
  };
  const perTunnel = (before, after) => ({
    rss: (after.rss - before.rss) / idleTunnels,
    heap: (after.heapUsed - before.heapUsed) / idleTunnels,
  });
  // A few tunnels first, so that code compiled on first use is not counted per tunnel.
  const warm = await connect('warm', 10);
  const fresh = await memory();
  const first = await connect('first', idleTunnels);
  const firstUp = await memory();
  await stop(first);
  await within(
    20_000,
    'the first round of tunnels to close',
    (async () => {
      while (JSON.parse((await get(`${relay.base}/_porthole/health`, `localhost:${relay.port}`)).body).tunnels > 10) await sleep(100);
    })(),
  );
  const warmed = await memory();
  const second = await connect('second', idleTunnels);
  const secondUp = await memory();
  await stop(second);
  await stop(warm);
  await stop(relay);
  return { fresh: perTunnel(fresh, firstUp), warmed: perTunnel(warmed, secondUp) };
}

function table(r) {
  const int = (n) => Math.round(n).toLocaleString('en-US');
  const ms = (n) => `${n.toFixed(2)} ms`;
  const us = (n) => `${int(n)} µs`;
  const mibs = (n) => `${int(n)} MiB/s`;
  const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
  const ratio = (a, b) => `${(a / b).toFixed(2)}×`;
  const check = (ok) => (ok ? '✅' : '❌');
  const cpu = (t) => t.cpuPerRequest.relay + t.cpuPerRequest.agent;
  const cpuText = (t) => `${us(cpu(t))} (${us(t.cpuPerRequest.relay)} + ${us(t.cpuPerRequest.agent)})`;
  const rows = [];
  if (r.small) {
    const { direct, tunnel, logged, hop } = r.small;
    rows.push(
      [
        'Small GET (100 B), requests/s, wrk -t1 -c50',
        int(direct.rps),
        int(tunnel.rps),
        ratio(tunnel.rps, direct.rps),
        '≥ 0.35×',
        check(tunnel.rps / direct.rps >= 0.35),
      ],
      ['  p50 latency', ms(direct.p50), ms(tunnel.p50), `+${ms(tunnel.p50 - direct.p50)}`, '≤ +2 ms', check(tunnel.p50 - direct.p50 <= 2)],
      ['  p99 latency', ms(direct.p99), ms(tunnel.p99), `+${ms(tunnel.p99 - direct.p99)}`, '', ''],
      ['  relay + agent CPU per request', '', cpuText(tunnel), '', '≤ 40 µs', check(cpu(tunnel) <= 40)],
      [
        '  origin CPU per request',
        us(direct.cpuPerRequest.origin),
        us(tunnel.cpuPerRequest.origin),
        ratio(tunnel.cpuPerRequest.origin, direct.cpuPerRequest.origin),
        '',
        '',
      ],
      [
        'Small GET, agent logging each request (CLI without --quiet)',
        int(direct.rps),
        int(logged.rps),
        ratio(logged.rps, direct.rps),
        '',
        '',
      ],
      ['  p50 latency', ms(direct.p50), ms(logged.p50), `+${ms(logged.p50 - direct.p50)}`, '', ''],
      ['  relay + agent CPU per request', '', cpuText(logged), '', '', ''],
      [
        'Reference, not a tunnel: one Node proxy hop (http + undici Pool), requests/s',
        int(direct.rps),
        int(hop.rps),
        ratio(hop.rps, direct.rps),
        '',
        '',
      ],
      ['  p50 latency', ms(direct.p50), ms(hop.p50), `+${ms(hop.p50 - direct.p50)}`, '', ''],
      ['  proxy CPU per request', '', us(hop.cpuPerRequest.hop), '', '', ''],
    );
  }
  if (r.bulk) {
    for (const direction of Object.keys(DIRECTIONS)) {
      const t = r.bulk[direction];
      rows.push([
        `${WARM_BYTES / MiB} MiB ${direction}, warm (median of 3 after 2 warm-ups)`,
        mibs(t.direct),
        mibs(t.tunnel),
        ratio(t.tunnel, t.direct),
        '≥ 400 MiB/s',
        check(t.tunnel >= 400),
      ]);
      if (t.ssh !== undefined) rows.push(['  ssh -R, the same transfers', '', mibs(t.ssh), ratio(t.ssh, t.direct), '', '']);
    }
  }
  if (r.cold) {
    for (const t of r.cold) {
      rows.push([
        `${t.bytes / MiB} MiB ${t.direction}, cold (fresh processes, one transfer; median of ${coldRounds})`,
        mibs(t.direct),
        mibs(t.tunnel),
        ratio(t.tunnel, t.direct),
        t.ssh === undefined ? '' : `≥ ssh -R: ${mibs(t.ssh)}`,
        t.ssh === undefined ? '' : check(t.tunnel >= t.ssh),
      ]);
    }
  }
  if (r.ws) {
    rows.push(
      [
        `WebSocket round trip, median of ${ECHOES}`,
        us(r.ws.direct.median),
        us(r.ws.tunnel.median),
        ratio(r.ws.tunnel.median, r.ws.direct.median),
        '',
        '',
      ],
      ['  p99', us(r.ws.direct.p99), us(r.ws.tunnel.p99), ratio(r.ws.tunnel.p99, r.ws.direct.p99), '', ''],
    );
  }
  if (r.memory) {
    const { warmed, fresh } = r.memory;
    rows.push(
      [
        `Relay memory per idle tunnel, RSS (${int(idleTunnels)} more on a warmed relay)`,
        '',
        kb(warmed.rss),
        '',
        '≤ 20 kB',
        check(warmed.rss <= 20_000),
      ],
      ['  JS heap used (after GC)', '', kb(warmed.heap), '', '', ''],
      [`  RSS on a fresh relay (the first ${int(idleTunnels)}, with one-time heap growth)`, '', kb(fresh.rss), '', '', ''],
    );
  }
  if (r.cluster) {
    const { small, download, upload, memory } = r.cluster;
    const { owner, other } = small;
    const cpuOf = (t) => Object.values(t.cpuPerRequest).reduce((sum, n) => sum + n, 0) - t.cpuPerRequest.origin;
    rows.push(
      ['**Cluster** (2 nodes, one Redis): left, through the node holding the tunnel; right, through the other node', '', '', '', '', ''],
      ['  Small GET, requests/s', int(owner.rps), int(other.rps), ratio(other.rps, owner.rps), '', ''],
      ['  p50 latency', ms(owner.p50), ms(other.p50), `+${ms(other.p50 - owner.p50)}`, '', ''],
      ['  relays + agent CPU per request', us(cpuOf(owner)), us(cpuOf(other)), ratio(cpuOf(other), cpuOf(owner)), '', ''],
      ['  100 MiB download', mibs(download.direct), mibs(download.tunnel), ratio(download.tunnel, download.direct), '', ''],
      ['  100 MiB upload', mibs(upload.direct), mibs(upload.tunnel), ratio(upload.tunnel, upload.direct), '', ''],
      [
        `  Relay memory per idle tunnel with Redis on, RSS (${int(idleTunnels)} more on a warmed node)`,
        '',
        kb(memory.warmed.rss),
        '',
        '≤ 20 kB',
        check(memory.warmed.rss <= 20_000),
      ],
      ['    JS heap used (after GC)', '', kb(memory.warmed.heap), '', '', ''],
    );
  }
  const lines = ['| | direct | tunnel | tunnel vs direct | target | |', '|---|--:|--:|--:|--:|---|'];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

async function main() {
  ensureWrk();
  const environment = [
    `Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), Linux ${os.release()}, ${wrkVersion()}`,
    `${seconds} s per wrk run after a 2 s warm-up, ${rounds} rounds alternating direct and tunnel; bulk: warm and cold (${COLD_SIZES.map((b) => b / MiB).join(' and ')} MiB); bundles from ${path.relative(root, dist) || dist}`,
  ];
  console.log(environment.join('\n'));
  const results = {};
  if (sections.has('small')) {
    results.small = await withTunnel(async ({ origin, relay, agent, direct }) => {
      const loggingAgent = await startAgent('agent-log', origin, relay, 'benchlog', false);
      const hop = await startProxyHop(origin);
      const small = await smallRequests(direct, [
        { label: 'tunnel', base: relay.base, host: agent.host, pids: { relay: relay.pid, agent: agent.pid } },
        { label: 'logged', base: relay.base, host: loggingAgent.host, pids: { relay: relay.pid, agent: loggingAgent.pid } },
        { label: 'hop', base: hop.base, host: hop.host, pids: { hop: hop.pid } },
      ]);
      await stop(hop);
      await stop(loggingAgent);
      return small;
    });
  }
  const sshd = (sections.has('bulk') || sections.has('cold')) && ensureSsh(say) ? await startSshd() : undefined;
  if (sshd) environment.push(`bulk yardstick: ${sshVersion()}, sshd and ssh -R on loopback with their default cipher`);
  try {
    if (sections.has('bulk')) {
      say(`${WARM_BYTES / MiB} MiB downloads and uploads, warm`);
      results.bulk = await withTunnel(async ({ origin, direct, tunnel }) => {
        const ssh = sshd ? await startSshTunnel('ssh-warm', sshd, origin.port) : undefined;
        try {
          const paths = ssh ? { direct, tunnel, ssh } : { direct, tunnel };
          return { download: await warmBulk(DIRECTIONS.download, paths), upload: await warmBulk(DIRECTIONS.upload, paths) };
        } finally {
          if (ssh) await stop(ssh);
        }
      });
    }
    if (sections.has('cold')) results.cold = await coldBulk(benchProcesses(dist), sshd, coldRounds, say);
  } finally {
    if (sshd) await stopSshd(sshd);
  }
  if (sections.has('ws')) {
    say(`${ECHOES} WebSocket echoes each way`);
    results.ws = await withTunnel(async ({ origin, relay, direct, tunnel }) => ({
      direct: await websocketRoundTrips(`ws://127.0.0.1:${origin.port}/ws`, direct.host, ECHOES),
      tunnel: await websocketRoundTrips(`ws://127.0.0.1:${relay.port}/ws`, tunnel.host, ECHOES),
    }));
  }
  if (sections.has('memory')) {
    say(`relay memory with ${idleTunnels} idle tunnels`);
    results.memory = await idleTunnelMemory();
  }
  if (sections.has('cluster')) {
    say('a cluster of two nodes: through the node holding the tunnel, and through the other one');
    results.cluster = await withCluster(async ({ owner, other, agent, direct }) => {
      const small = await smallRequests(direct, [
        { label: 'owner', base: owner.base, host: owner.host, pids: { owner: owner.pid, agent: agent.pid } },
        { label: 'other', base: other.base, host: other.host, pids: { owner: owner.pid, other: other.pid, agent: agent.pid } },
      ]);
      const paths = { direct: owner, tunnel: other };
      return { small, download: await warmBulk(DIRECTIONS.download, paths), upload: await warmBulk(DIRECTIONS.upload, paths) };
    });
    say(`relay memory with ${idleTunnels} idle tunnels, Redis on`);
    const redis = await startRedis();
    results.cluster.memory = await idleTunnelMemory(nodeArgs(redis));
    await stop(redis);
  }

  const markdown = `${environment.map((line) => `${line}  `).join('\n')}\n\n${table(results)}\n`;
  console.log(`\n${markdown}`);
  fs.writeFileSync(flags.out, markdown);
  console.log(`(also written to ${path.relative(process.cwd(), flags.out)})`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
