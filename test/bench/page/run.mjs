// `npm run bench:page`: how long a colleague waits for a shared Vite dev server's page, over a link
// with a real round-trip time and rate, against reaching the same dev server directly over the same link.
// Prints the environment and one markdown table (also written to test/bench/page/last-results.md).
//
//   node test/bench/page/run.mjs [--rtt MS] [--mbit N] [--loads N] [--components N] [--dist DIR] [--out FILE]
//
// Everything is a real process on loopback (paths.mjs): Vite's dev server serving a generated app
// (app.mjs), link shapers (shaper.ts), the relay over TLS with a certificate made here, the agent
// (`porthole share`), and headless Chromium (browser.mjs). Each row has its own relay, agent and
// shapers; every load is cold (a fresh browser context: no cache, no connections). Rows that need what
// the relay or agent cannot do yet (HTTP/2, compression) say so instead of showing a figure.
//
// Direct is plain HTTP/1.1, as a colleague reaches `vite --host` on a LAN: Vite serves HTTP/2 only
// once given a certificate, which few set up, and plain HTTP also spares direct the TLS handshake
// that every share pays, so the comparison is, if anything, strict on Porthole.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, stop, stopAllSync } from '../lib.mjs';
import { generateApp, hmrProbe } from './app.mjs';
import { coldLoad, hmrRound, launchBrowser, openForHmr } from './browser.mjs';
import { DOMAIN, features, makeCertificate, startShaper, startShare, startVite, variants } from './paths.mjs';
import { table } from './report.mjs';
import { CACHE, ensureTools, PACKAGES } from './tools.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const { values: flags } = parseArgs({
  options: {
    rtt: { type: 'string', default: '40' },
    mbit: { type: 'string', default: '50' },
    loads: { type: 'string', default: '5' },
    components: { type: 'string', default: '300' },
    dist: { type: 'string', default: path.join(root, 'dist') },
    out: { type: 'string', default: path.join(here, 'last-results.md') },
  },
});
const link = { rttMs: Number(flags.rtt), mbit: Number(flags.mbit) };
const loads = Number(flags.loads);
const dist = path.resolve(flags.dist);
const HMR_ROUNDS = 5;

for (const file of ['relay.js', 'cli.js']) {
  if (!fs.existsSync(path.join(dist, file))) {
    console.error(`bench:page: ${path.join(dist, file)} is missing. Build it first with: npm run build`);
    process.exit(2);
  }
}
const say = (text) => console.log(`· ${text}`);
fs.mkdirSync(path.join(CACHE, 'apps'), { recursive: true });
// Under the cache, so that the app's imports of vite and three resolve to the cache's node_modules.
const work = fs.mkdtempSync(path.join(CACHE, 'apps', 'run-'));
process.on('exit', () => {
  stopAllSync();
  fs.rmSync(work, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
setTimeout(() => {
  console.error('bench:page: gave up after 20 minutes');
  process.exit(1);
}, 20 * 60_000).unref();

/**
 * Loads every row's page: one warm-up each (fresh processes JIT-compile; it also shows whether the
 * row's feature is there), then `loads` rounds that take the rows in turn, each round starting one row
 * further on, so that a machine busy with other work slows all rows alike rather than one.
 */
async function measureRows(browser, rows, components) {
  for (const row of rows) {
    const warm = await coldLoad(browser, { ...row, components });
    Object.assign(row, { protocols: warm.protocols, encodings: warm.encodings, unavailable: row.unavailable?.(warm), runs: [] });
  }
  const measured = rows.filter((row) => !row.unavailable);
  for (let round = 0; round < loads; round++) {
    say(`cold loads, round ${round + 1} of ${loads}`);
    const first = round % measured.length;
    for (const row of [...measured.slice(first), ...measured.slice(0, first)])
      row.runs.push(await coldLoad(browser, { ...row, components }));
  }
  for (const row of measured) {
    const middle = (key) => median(row.runs.map((r) => r[key]));
    Object.assign(row, {
      ms: middle('ms'),
      down: middle('down'),
      up: middle('up'),
      requests: middle('requests'),
      protocols: [...new Set(row.runs.flatMap((r) => r.protocols))],
      encodings: [...new Set(row.runs.flatMap((r) => r.encodings))],
      spread: [Math.min(...row.runs.map((r) => r.ms)), Math.max(...row.runs.map((r) => r.ms))],
    });
  }
}

/** HMR: the same edits seen by a page on the direct link and one through the share, side by side. */
async function measureHmr(browser, app, directUrl, shareUrl) {
  const pages = [await openForHmr(browser, directUrl, app.components), await openForHmr(browser, shareUrl, app.components)];
  try {
    const rounds = [];
    for (let i = 0; i <= HMR_ROUNDS; i++) {
      const stamp = `edit-${i}`;
      const times = await hmrRound(
        pages.map((p) => p.page),
        app.hmrProbe,
        hmrProbe(stamp),
        stamp,
      );
      if (i > 0) rounds.push(times); // the first edit only warms Vite's and the agent's paths
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    return { direct: median(rounds.map((r) => r[0])), share: median(rounds.map((r) => r[1])) };
  } finally {
    for (const p of pages) await p.close();
  }
}

async function main() {
  ensureTools(say);
  const available = features(dist);
  const appDir = path.join(work, 'app');
  const app = generateApp(appDir, { components: Number(flags.components) });
  const tls = makeCertificate(work);
  const processes = [];
  const vite = await startVite(appDir);
  processes.push(vite);
  const browser = await launchBrowser({ hosts: [`*.${DOMAIN}`], trustedKey: tls.pin });
  try {
    const environment = [
      `Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), Linux ${os.release()}, Chromium ${browser.version()} (headless), Vite ${PACKAGES.vite}`,
      `Link: ${link.rttMs} ms round trip and ${link.mbit} Mbit/s each way, on each leg (visitor ↔ relay or dev server; agent ↔ relay), shaped in user space by test/bench/page/shaper.ts`,
      `App: ${app.components} modules in a tree ${app.depth} components deep, 12 shared helpers, 6 CSS files, three.js ${PACKAGES.three} pre-bundled by Vite; median of ${loads} cold loads after one warm-up, rows taken in turn; HMR: median of ${HMR_ROUNDS} edits after one`,
    ];
    console.log(environment.join('\n'));
    say('warming Vite (first transform of every module, dependency pre-bundling)');
    await coldLoad(browser, {
      url: `http://127.0.0.1:${vite.port}/`,
      components: app.components,
      counters: async () => ({ up: 0, down: 0 }),
    });

    const directLink = await startShaper('direct-link', vite.port, link, say);
    processes.push(directLink);
    const rows = [
      { label: 'Direct to the dev server (plain HTTP/1.1)', url: `http://127.0.0.1:${directLink.port}/`, counters: directLink.counters },
    ];
    for (const variant of variants(available)) {
      say(`starting ${variant.label}`);
      rows.push(await startShare(variant, { dist, tls, vitePort: vite.port, link, processes, say }));
    }
    await measureRows(browser, rows, app.components);
    say("HMR: edits seen directly and through the share (the relay's and agent's defaults)");
    // A share that breaks HMR is a finding for the table, not a reason to lose the loads measured.
    const hmr = await measureHmr(browser, app, rows[0].url, rows.at(-1).url).catch((error) => ({ error: error.message.split('\n')[0] }));
    const load = os.loadavg().map((n) => n.toFixed(1));
    environment.push(
      await shaperError(processes),
      `Load average at the end (1, 5, 15 min): ${load.join(', ')}, on ${os.cpus().length} cores`,
    );
    const markdown = `${environment.map((line) => `${line}  `).join('\n')}\n\n${table(rows, hmr, link)}\n`;
    console.log(`\n${markdown}`);
    fs.writeFileSync(flags.out, markdown);
    console.log(`(also written to ${path.relative(process.cwd(), flags.out)})`);
  } finally {
    await browser.close().catch((error) => console.error(`closing Chromium: ${error.message}`));
    for (const proc of processes.reverse()) await stop(proc);
  }
}

/** How late the shapers delivered beyond their links' delay: the benchmark's own error, on a busy machine. */
async function shaperError(processes) {
  const late = await Promise.all(processes.filter((p) => p.counters).map(async (p) => (await p.counters()).lateness));
  const pieces = late.reduce((n, l) => n + l.pieces, 0);
  const mean = late.reduce((sum, l) => sum + l.meanMs * l.pieces, 0) / pieces;
  const over = late.reduce((n, l) => n + l.over10ms, 0) / pieces;
  const worst = Math.max(...late.map((l) => l.maxMs));
  return `Shaper's own error: pieces arrived ${mean.toFixed(1)} ms late on average beyond the link's delay, ${(over * 100).toFixed(1)} % more than 10 ms, ${worst.toFixed(0)} ms at worst`;
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`bench:page: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
