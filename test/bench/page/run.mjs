// `npm run bench:page`: how long a colleague waits for a shared Vite dev server's page, over a link
// with a real round-trip time and rate, against reaching the same dev server directly over the same link.
// Prints the environment and one markdown table (also written to test/bench/page/last-results.md).
//
//   node test/bench/page/run.mjs [--rtt MS] [--mbit N] [--loads N] [--components N] [--dist DIR] [--out FILE]
//
// Everything is a real process on loopback: Vite's dev server serving a generated app (app.mjs), the
// relay over TLS with a certificate made here, the agent (`porthole share`), two link shapers
// (shaper.ts: visitor ↔ relay or dev server, agent ↔ relay) and headless Chromium. Each row starts
// its own relay, agent and shapers; every load is cold (fresh browser context: no cache, no
// connections). Rows that need what the relay or agent cannot do yet (HTTP/2, compression) say so.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, jsonLine, median, start, stop, stopAllSync, waitForHttp, waitForLine, within } from '../lib.mjs';
import { hmrProbe, generateApp } from './app.mjs';
import { coldLoad, hmrRound, launchBrowser, openForHmr } from './browser.mjs';
import { table } from './report.mjs';
import { CACHE, PACKAGES, ensureTools } from './tools.mjs';

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
/** The relay's domain: `.test` is reserved for tests; Chromium and the agent resolve its names to 127.0.0.1. */
const DOMAIN = 'porthole.test';
const RESOLVE_TEST_NAMES = path.join(root, 'test/tls/resolve-test-names.cjs');
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
setTimeout(() => { console.error('bench:page: gave up after 20 minutes'); process.exit(1); }, 20 * 60_000).unref();

/** What the built relay and CLI offer, read from their --help, so that rows turn real as the features land. */
function features() {
  const help = (args) => execFileSync(process.execPath, args, { encoding: 'utf8' });
  return {
    noHttp2: help([path.join(dist, 'relay.js'), '--help']).includes('--no-http2'),
    noCompress: help([path.join(dist, 'cli.js'), 'share', '--help']).includes('--no-compress'),
  };
}

/** A self-signed certificate for the relay's domain and its wildcard, and its key's pin for Chromium. */
function makeCertificate() {
  const cert = path.join(work, 'relay.pem');
  const key = path.join(work, 'relay.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${DOMAIN}`, '-addext', `subjectAltName=DNS:${DOMAIN},DNS:*.${DOMAIN}`, '-keyout', key, '-out', cert], { stdio: 'pipe' });
  const spki = new crypto.X509Certificate(fs.readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
  return { cert, key, pin: crypto.createHash('sha256').update(spki).digest('base64') };
}

async function startVite(app) {
  const port = await freePort();
  const vite = start('vite', process.execPath, [path.join(CACHE, 'node_modules/vite/bin/vite.js'), '--port', String(port)], { cwd: app });
  await waitForHttp(`http://127.0.0.1:${port}/`, `127.0.0.1:${port}`, 30_000);
  return { ...vite, port };
}

/** A shaper process in front of 127.0.0.1:`targetPort`; `counters()` asks it what has crossed so far. */
async function startShaper(name, targetPort) {
  const shaper = start(name, process.execPath, ['--import', 'tsx', path.join(here, 'shaper-process.ts'),
    '--target', `127.0.0.1:${targetPort}`, '--rtt', String(link.rttMs), '--mbit', String(link.mbit)], { cwd: root, ipc: true });
  const { port } = await waitForLine(shaper, jsonLine, 15_000, 'its port');
  // The link must not wait for the ends it connects: Chromium and Vite can keep both cores busy.
  try {
    os.setPriority(shaper.pid, -10);
  } catch (error) {
    say(`${name} keeps normal priority (${error.message}); the shaper's error line shows what that costs`);
  }
  const counters = () => within(5000, `${name}'s counters`, new Promise((resolve) => {
    shaper.child.once('message', resolve);
    shaper.child.send('counters');
  }));
  return { ...shaper, port, counters };
}

/**
 * Relay (TLS, on free ports), a shaper on the agent's link, the agent, and a shaper on the visitor's
 * link. The returned row has the public URL, the visitor link's counters and the processes to stop.
 */
async function startShare(variant, tls, vitePort, processes) {
  const relay = start(`relay-${variant.key}`, process.execPath, [path.join(dist, 'relay.js'), '--domain', DOMAIN,
    '--http-port', '0', '--https-port', '0', '--tls-cert', tls.cert, '--tls-key', tls.key, ...variant.relayArgs], { cwd: root });
  processes.push(relay);
  const httpsPort = await waitForLine(relay, (line) => /ready at https:\/\/\S+:(\d+)/.exec(line)?.[1], 15_000, 'ready');
  const agentLink = await startShaper(`agent-link-${variant.key}`, httpsPort);
  processes.push(agentLink);
  const agent = start(`agent-${variant.key}`, process.execPath, [path.join(dist, 'cli.js'), 'share', `127.0.0.1:${vitePort}`,
    '--relay', `https://${DOMAIN}:${agentLink.port}`, '--subdomain', 'app', '--json', '--quiet', ...variant.agentArgs], {
    cwd: root, env: { NODE_EXTRA_CA_CERTS: tls.cert, NODE_OPTIONS: `--require "${RESOLVE_TEST_NAMES}"` },
  });
  processes.push(agent);
  await waitForLine(agent, (line) => {
    const event = jsonLine(line);
    if (event?.event === 'error') throw new Error(`the agent failed: ${event.message}`);
    return event?.event === 'ready' ? event : undefined;
  }, 30_000, 'ready');
  const visitorLink = await startShaper(`visitor-link-${variant.key}`, httpsPort);
  processes.push(visitorLink);
  return { ...variant, url: `https://app.${DOMAIN}:${visitorLink.port}/`, counters: visitorLink.counters };
}

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
    for (const row of [...measured.slice(first), ...measured.slice(0, first)]) row.runs.push(await coldLoad(browser, { ...row, components }));
  }
  for (const row of measured) {
    const middle = (key) => median(row.runs.map((r) => r[key]));
    Object.assign(row, {
      ms: middle('ms'), down: middle('down'), up: middle('up'), requests: middle('requests'),
      protocols: [...new Set(row.runs.flatMap((r) => r.protocols))], encodings: [...new Set(row.runs.flatMap((r) => r.encodings))],
      spread: [Math.min(...row.runs.map((r) => r.ms)), Math.max(...row.runs.map((r) => r.ms))],
    });
  }
}

function variants({ noHttp2, noCompress }) {
  const offCompression = noCompress ? ['--no-compress'] : [];
  const h2 = (load) => load.protocols.includes('h2');
  const compressed = (load) => load.encodings.length > 0;
  const noHttp2Yet = 'not available (relay lacks HTTP/2)';
  const cannotTurnOffCompression = 'not available (the agent compresses and has no --no-compress to turn it off)';
  return [
    {
      key: 'h1', label: 'Porthole, HTTP/1.1', relayArgs: noHttp2 ? ['--no-http2'] : [], agentArgs: offCompression,
      unavailable: (load) => (h2(load) ? 'not available (the relay offers HTTP/2 and has no --no-http2 to turn it off)'
        : compressed(load) ? cannotTurnOffCompression : undefined),
    },
    {
      key: 'h2', label: 'Porthole, HTTP/2', relayArgs: [], agentArgs: offCompression,
      unavailable: (load) => (!h2(load) ? noHttp2Yet : compressed(load) ? cannotTurnOffCompression : undefined),
    },
    {
      key: 'h2c', label: 'Porthole, HTTP/2 + compression', relayArgs: [], agentArgs: [],
      unavailable: (load) => (!h2(load) ? noHttp2Yet : !compressed(load) ? 'not available (agent lacks compression)' : undefined),
    },
  ];
}

/** HMR: the same edits seen by a page on the direct link and one through the share, side by side. */
async function measureHmr(browser, app, directUrl, shareUrl) {
  const pages = [await openForHmr(browser, directUrl, app.components), await openForHmr(browser, shareUrl, app.components)];
  try {
    const rounds = [];
    for (let i = 0; i <= HMR_ROUNDS; i++) {
      const stamp = `edit-${i}`;
      const times = await hmrRound(pages.map((p) => p.page), app.hmrProbe, hmrProbe(stamp), stamp);
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
  const available = features();
  const appDir = path.join(work, 'app');
  const app = generateApp(appDir, { components: Number(flags.components) });
  const tls = makeCertificate();
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
    await coldLoad(browser, { url: `http://127.0.0.1:${vite.port}/`, components: app.components, counters: async () => ({ up: 0, down: 0 }) });

    const directLink = await startShaper('direct-link', vite.port);
    processes.push(directLink);
    const rows = [{ label: 'Direct to the dev server (plain HTTP/1.1)', url: `http://127.0.0.1:${directLink.port}/`, counters: directLink.counters }];
    for (const variant of variants(available)) {
      say(`starting ${variant.label}`);
      rows.push(await startShare(variant, tls, vite.port, processes));
    }
    await measureRows(browser, rows, app.components);
    say('HMR: edits seen directly and through the share (the relay\'s and agent\'s defaults)');
    // A share that breaks HMR is a finding for the table, not a reason to lose the loads measured.
    const hmr = await measureHmr(browser, app, rows[0].url, rows.at(-1).url).catch((error) => ({ error: error.message.split('\n')[0] }));
    environment.push(await shaperError(processes));
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

main().then(() => process.exit(0), (error) => {
  console.error(`bench:page: ${error.stack ?? error.message}`);
  process.exit(1);
});
