#!/usr/bin/env node
// `npm run test:frameworks`: real dev servers shared through a real relay over HTTPS, driven by
// headless Chromium at the public URL, one row per framework (rows.mjs) and one column per check
// (checks.mjs). Prints the matrix; a run of every row also writes it into the README between the
// `frameworks-matrix` markers, the table users read (commit it with the change it measures). Exits
// non-zero when any check fails.
//
//   node test/frameworks/run.mjs [--only vite,sveltekit] [--keep] [--direct] [--limit SECONDS]
//
// --keep leaves each app's run folder (with its dev server's and agent's logs) for a look afterwards.
// --direct runs the checks at the dev server's own http://localhost:port, with no share: the baseline
// that tells a framework's own behaviour from what the tunnel changes.
// --limit (default an hour) stops everything it started and fails once the run takes longer: set it
// below any limit from outside, which would kill this process before it could stop its dev servers.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CHECKS } from './checks.mjs';
import {
  devEnv,
  freePort,
  installTools,
  lap,
  launchChromium,
  makeCertificate,
  prepareApp,
  ROOT,
  share,
  startProcess,
  startRelay,
  waitFor,
} from './rig.mjs';
import { ROWS, rowVersion } from './rows.mjs';

const CHECK_TIMEOUT_MS = 120_000;
const DEV_SERVER_START_MS = 180_000;
const README = path.join(ROOT, 'README.md');
const MARK_BEGIN = '<!-- frameworks-matrix:begin (written by npm run test:frameworks) -->';
const MARK_END = '<!-- frameworks-matrix:end -->';

const { values } = parseArgs({
  options: { only: { type: 'string' }, keep: { type: 'boolean' }, direct: { type: 'boolean' }, limit: { type: 'string', default: '3600' } },
});
const limitMs = Number(values.limit) * 1000;
const only = values.only
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only?.filter((name) => !ROWS.some((r) => r.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`No row named ${unknown.join(', ')}. Rows: ${ROWS.map((r) => r.name).join(', ')}.`);
  process.exit(2);
}
const rows = only ? ROWS.filter((r) => only.includes(r.name)) : ROWS;

/** What to undo, newest last: the run's relay and browser, and the row in progress's processes. */
const cleanup = [];
async function cleanUp(downTo = 0) {
  while (cleanup.length > downTo)
    await cleanup
      .pop()()
      .catch((error) => console.error(`cleanup: ${error.message}`));
}
const watchdog = setTimeout(async () => {
  console.error(`The matrix took longer than ${values.limit} s (--limit); stopping what it started.`);
  await cleanUp();
  process.exit(1);
}, limitMs);
for (const signal of ['SIGINT', 'SIGTERM'])
  process.on(signal, async () => {
    await cleanUp();
    process.exit(1);
  });

async function main() {
  const started = Date.now();
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit', timeout: 120_000 });
  if (build.status !== 0) throw new Error('node esbuild.mjs failed');
  const tools = await installTools();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-frameworks-'));
  cleanup.push(async () => {
    if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
  });
  const certificate = makeCertificate(work);
  const relay = await startRelay(certificate, work);
  cleanup.push(() => relay.stop());
  const browser = await launchChromium(tools, certificate);
  cleanup.push(() => browser.close());
  lap(`relay ${relay.url}; dev servers on Node ${tools.nodeVersion}; Chromium ${browser.version()}`);

  const results = [];
  for (const row of rows) results.push(await runRow(row, { tools, relay, certificate, browser }));
  const seconds = Math.round((Date.now() - started) / 1000);
  const table = matrix(results, { seconds, nodeVersion: tools.nodeVersion, chromium: browser.version() });
  console.log(`\n${table}\n`);
  if (!only && !values.direct) writeReadme(table);

  const ran = results.flatMap((r) => Object.values(r.cells)).filter((c) => c.status !== 'n/a');
  const passed = ran.filter((c) => c.status === 'pass').length;
  console.log(`Total:     ${ran.length}\nPassed:    ${passed}\n${passed} passed, ${ran.length - passed} failed`);
  return passed === ran.length;
}

/** Installs, starts and shares one row's dev server, then runs every check in a fresh browser context. */
async function runRow(row, { tools, relay, certificate, browser }) {
  const cells = {};
  const fail = (reason) => {
    for (const c of CHECKS) cells[c.id] ??= { status: 'fail', reason };
  };
  const undoFrom = cleanup.length;
  let app;
  try {
    app = await prepareApp(row, tools);
    const port = await freePort();
    const [command, ...args] = row.devServer(String(port));
    const server = startProcess(row.label, command.includes('/') ? path.join(app.dir, command) : command, args, {
      cwd: app.dir,
      env: devEnv(tools),
      log: path.join(app.dir, 'dev-server.log'),
    });
    cleanup.push(() => server.stop());
    await Promise.race([
      waitFor(
        async () => (await fetch(`http://localhost:${port}/`, { signal: AbortSignal.timeout(60_000) })).status < 500,
        DEV_SERVER_START_MS,
        `${row.label} on port ${port}`,
        250,
      ),
      server.exited.then((code) => {
        throw new Error(`the dev server exited (${code})`);
      }),
    ]).catch((error) => {
      throw new Error(`${error.message}\n${server.tail()}`);
    });
    const agent = values.direct ? undefined : await share(relay, certificate, port, row.name, app.dir);
    if (agent) cleanup.push(() => agent.stop());
    const url = agent?.url ?? `http://localhost:${port}`;
    lap(`${row.label} (${rowVersion(row)}) on :${port}, ${agent ? `shared at ${url}` : 'not shared (--direct)'}`);
    for (const check of CHECKS) {
      if (row.notApplicable?.[check.id]) {
        cells[check.id] = { status: 'n/a', reason: row.notApplicable[check.id] };
        continue;
      }
      cells[check.id] = await runCheck(check, { browser, url, row, app });
      const cell = cells[check.id];
      lap(`  ${cell.status === 'pass' ? '✓' : '✗'} ${row.name} ${check.title}${cell.reason ? `: ${cell.reason}` : ''}`);
    }
    if (Object.values(cells).some((c) => c.status === 'fail'))
      console.log(`--- ${row.name}: dev server\n${server.tail()}${agent ? `\n--- ${row.name}: porthole share\n${agent.tail(10)}` : ''}`);
  } catch (error) {
    console.log(`✗ ${row.label}: ${error.message}`);
    fail(error.message.split('\n')[0]);
  } finally {
    await cleanUp(undoFrom);
    if (app && !values.keep) app.remove();
    else if (app) console.log(`kept ${app.dir}`);
  }
  return { row, cells };
}

/** One check in its own browser context (own cookies), bounded in time; a failure is a reason, not a throw. */
async function runCheck(check, { browser, url, row, app }) {
  const context = await browser.newContext();
  const page = await context.newPage();
  let timer;
  try {
    await Promise.race([
      check.run({ page, url, row, app }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`took longer than ${CHECK_TIMEOUT_MS / 1000} s`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'pass' };
  } catch (error) {
    return { status: 'fail', reason: error.message.split('\n')[0].slice(0, 300) };
  } finally {
    clearTimeout(timer);
    await context.close().catch(() => undefined);
  }
}

/** The matrix as Markdown: a table of ✓/✗/—, then the reasons behind the ✗ and — of each row, checks with one reason together. */
function matrix(results, { seconds, nodeVersion, chromium }) {
  const lines = [`| dev server | ${CHECKS.map((c) => c.title).join(' | ')} |`, `|---|${CHECKS.map(() => ':---:').join('|')}|`];
  const notes = [];
  for (const { row, cells } of results) {
    const reasons = new Map();
    const marks = CHECKS.map((c) => {
      const cell = cells[c.id];
      if (cell.status === 'pass') return '✓';
      const reason = `${cell.status === 'n/a' ? 'not applicable: ' : ''}${cell.reason}`;
      reasons.set(reason, [...(reasons.get(reason) ?? []), c.title]);
      return cell.status === 'n/a' ? '—' : '✗';
    });
    for (const [reason, titles] of reasons) notes.push(`- ${row.label}, ${titles.join(', ')}: ${reason}`);
    lines.push(`| ${row.label}, ${rowVersion(row)}${row.setting ? `, with \`${row.setting}\`` : ''} | ${marks.join(' | ')} |`);
  }
  const when = new Date().toISOString().slice(0, 10);
  const how = values.direct ? 'each at its own http://localhost:port (--direct)' : 'through a relay over HTTPS';
  return [
    ...lines,
    '',
    ...notes,
    ...(notes.length ? [''] : []),
    `Run ${when} in ${seconds} s: dev servers on Node ${nodeVersion}, Chromium ${chromium}, ${how}.`,
  ].join('\n');
}

/** A run of every row replaces the README's table; a run of some rows leaves it alone. */
function writeReadme(table) {
  const readme = fs.readFileSync(README, 'utf8');
  const begin = readme.indexOf(MARK_BEGIN);
  const end = readme.indexOf(MARK_END);
  if (begin < 0 || end < begin) {
    console.log(`README.md has no ${MARK_BEGIN} … ${MARK_END} section; the matrix is printed above only.`);
    return;
  }
  fs.writeFileSync(README, `${readme.slice(0, begin + MARK_BEGIN.length)}\n${table}\n${readme.slice(end)}`);
  console.log('README.md: the matrix section is updated.');
}

main()
  .then(async (ok) => {
    clearTimeout(watchdog);
    await cleanUp();
    process.exit(ok ? 0 : 1);
  })
  .catch(async (error) => {
    console.error(`FAILED: ${error.stack ?? error.message}`);
    clearTimeout(watchdog);
    await cleanUp();
    process.exit(1);
  });
