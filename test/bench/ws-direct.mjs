// `node test/bench/ws-direct.mjs`: is the message writer's direct socket write (core/wsSocket.ts)
// still worth reaching inside ws for? A/B in one run: the relay and agent as built, against the
// same code built with ws.send doing every write, side by side on one origin, transfers alternating.
//
//   node test/bench/ws-direct.mjs [--rounds N] [--mib N]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { download, upload } from './clients.mjs';
import { cpuMicros, freePort, jsonLine, median, start, stop, stopAllSync, waitForHttp, waitForLine } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, mib: { type: 'string', default: '100' } } });
const MiB = 1024 * 1024;
const bytes = Number(flags.mib) * MiB;
process.on('exit', stopAllSync);

/** Bundles relay and CLI into `outdir`; with `plain`, core/wsSocket.ts never hands out the socket. */
async function build(outdir, plain) {
  const plainSend = {
    name: 'plain-ws-send',
    setup(b) {
      b.onLoad({ filter: /core[\\/]wsSocket\.ts$/ }, () => ({
        contents: 'export function frameSocket() { return undefined; }',
        loader: 'ts',
      }));
    },
  };
  await esbuild.build({
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    external: ['bufferutil', 'utf-8-validate'],
    entryPoints: { relay: path.join(root, 'relay/main.ts'), cli: path.join(root, 'extension/cli/cli.ts') },
    outdir,
    plugins: plain ? [plainSend] : [],
  });
}

async function tunnel(label, dist, origin) {
  const port = await freePort();
  const relay = start(`${label}-relay`, process.execPath, [path.join(dist, 'relay.js'), '--http-port', String(port)], { cwd: root });
  await waitForHttp(`http://127.0.0.1:${port}/_porthole/health`, `localhost:${port}`, 10_000);
  const args = [path.join(dist, 'cli.js'), 'share', origin.base, '--relay', `http://localhost:${port}`, '--subdomain', label];
  const agent = start(`${label}-agent`, process.execPath, [...args, '--json', '--quiet'], { cwd: root });
  await waitForLine(agent, (line) => (jsonLine(line)?.event === 'ready' ? true : undefined), 10_000, 'ready');
  return { label, relay, agent, base: `http://127.0.0.1:${port}`, host: `${label}.localhost:${port}` };
}

/** One transfer through `t`: MiB/s, and relay + agent CPU per MiB in ms. */
async function measure(transfer, t) {
  const cpu = () => cpuMicros(t.relay.pid) + cpuMicros(t.agent.pid);
  const before = cpu();
  const rate = await transfer(t.base, t.host, bytes);
  return { rate, cpuMs: (cpu() - before) / 1000 / (bytes / MiB) };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-ws-direct-'));
await build(path.join(work, 'direct'), false);
await build(path.join(work, 'plain'), true);
const originProc = start('origin', process.execPath, [path.join(here, 'origin.mjs')], { cwd: root });
const { port } = await waitForLine(originProc, jsonLine, 10_000, 'its port');
const origin = { base: `http://127.0.0.1:${port}` };
const variants = [await tunnel('direct', path.join(work, 'direct'), origin), await tunnel('plain', path.join(work, 'plain'), origin)];

const rows = [];
for (const [name, transfer] of [
  ['download', download],
  ['upload', upload],
]) {
  const runs = { direct: [], plain: [] };
  for (const t of variants) for (let i = 0; i < 2; i++) await transfer(t.base, t.host, bytes);
  for (let round = 0; round < Number(flags.rounds); round++) {
    for (const t of round % 2 ? [...variants].reverse() : variants) runs[t.label].push(await measure(transfer, t));
  }
  const rate = (label) => median(runs[label].map((r) => r.rate));
  const cpuMs = (label) => median(runs[label].map((r) => r.cpuMs));
  rows.push(
    `| ${flags.mib} MiB ${name}, MiB/s | ${rate('direct').toFixed(0)} | ${rate('plain').toFixed(0)} | ${(rate('direct') / rate('plain')).toFixed(2)}× |`,
    `|   relay + agent CPU per MiB | ${cpuMs('direct').toFixed(2)} ms | ${cpuMs('plain').toFixed(2)} ms | ${(cpuMs('direct') / cpuMs('plain')).toFixed(2)}× |`,
  );
}
for (const t of variants) {
  await stop(t.agent);
  await stop(t.relay);
}
await stop(originProc);
fs.rmSync(work, { recursive: true, force: true });
console.log(`Node ${process.version}, ${os.cpus().length} cores; median of ${flags.rounds} alternating transfers after 2 warm-ups each\n`);
console.log(['| | direct socket writes | ws.send only | direct vs plain |', '|---|--:|--:|--:|', ...rows].join('\n'));
process.exit(0);
