#!/usr/bin/env node
// `npm test`: brings in whatever the tests need when it is missing (npm packages, Debian's pebble,
// redis-server and haproxy, the VS Code test rig), builds, type-checks, and runs every suite. Idempotent: a second run only tests.
// Plain Node with no dependencies, so it works in a fresh clone before `npm install`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from './debian.cjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
// `--scale N` runs the property-based tests N times longer (npm run fuzz).
const args = process.argv.slice(2);
const scaleAt = args.indexOf('--scale');
const fuzzScale = scaleAt === -1 ? 1 : Number(args.splice(scaleAt, 2)[1]);
if (!(fuzzScale >= 1)) {
  console.error('--scale takes a number of times, 1 or more');
  process.exit(2);
}
const only = args;
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
// uvu with a time limit per test and an end for a process that lingers after its tests (test/uvu.cjs).
const uvu = (dir) => [process.execPath, 'test/uvu.cjs', dir, '\\.test\\.ts$'];

/** Each stage: a name, a time limit, and the command. Suites run one after another: 2 cores. */
const stages = [
  { name: 'build', limit: 120, cmd: [process.execPath, 'esbuild.mjs'] },
  { name: 'typecheck', limit: 180, cmd: [bin('tsc'), '--noEmit', '-p', '.'] },
  // Biome: the formatter's layout and the linter's rules (npm run format applies both).
  { name: 'lint', limit: 60, cmd: [bin('biome'), 'ci', '--colors=off'] },
  { name: 'unit', limit: 300, cmd: uvu('test/unit') },
  { name: 'integration', limit: 600, cmd: uvu('test/integration') },
  // Three relays as real processes on one Redis, with HAProxy in front for the failover tests.
  { name: 'cluster', limit: 300, cmd: uvu('test/cluster') },
  // fast-check properties over what peers send; a failure prints the seed and the shrunk case.
  { name: 'fuzz', limit: 180 * fuzzScale, cmd: uvu('test/fuzz') },
  { name: 'tls', limit: 600, cmd: [process.execPath, 'test/pebble.mjs', ...uvu('test/tls')] },
  { name: 'vscode', limit: 900, cmd: [process.execPath, 'test/vscode/run.mjs'] },
  // Two rows of the framework matrix, real dev servers in Chromium through a relay over HTTPS (the
  // whole matrix is npm run test:frameworks).
  { name: 'frameworks', limit: 600, cmd: [process.execPath, 'test/frameworks/run.mjs', '--only', 'vite,sveltekit', '--limit', '540'] },
  { name: 'package', limit: 180, cmd: [process.execPath, 'test/vscode/package.mjs'] },
];

function installDependencies() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  console.log('== installing npm packages (npm ci)');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('npm ci failed: see the output above (the npm registry must be reachable).');
    process.exit(1);
  }
}

function runStage(stage) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.log(`\n== ${stage.name}: ${stage.cmd.map((a) => (a === process.execPath ? 'node' : path.relative(root, a) || a)).join(' ')}`);
    const child = spawn(stage.cmd[0], stage.cmd.slice(1), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
      env: { ...process.env, NO_COLOR: '1', PORTHOLE_FUZZ_SCALE: String(fuzzScale) },
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
      process.stdout.write(d);
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    let killer;
    // At the limit: SIGTERM first, so the stage can say what it was doing and what it held.
    const timer = setTimeout(() => {
      console.error(`\n${stage.name} did not finish within ${stage.limit} s; stopping it.`);
      child.kill('SIGTERM');
      killer = setTimeout(killGroup, 5000);
    }, stage.limit * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      // Whatever the stage started and left running (a relay, redis-server) goes with it.
      killGroup();
      // uvu prints "Total: N / Passed: N"; other stages count as one check each.
      const total = Number(/Total:\s+(\d+)/.exec(output)?.[1] ?? 1);
      const passed =
        code === 0
          ? Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? total)
          : Math.min(total - 1, Number(/Passed:\s+(\d+)/.exec(output)?.[1] ?? 0));
      resolve({
        name: stage.name,
        ok: code === 0,
        code: code ?? signal,
        seconds: (Date.now() - started) / 1000,
        passed,
        failed: total - passed,
      });
    });
  });
}

installDependencies();
try {
  // pebble and chromium are installed by their own harnesses.
  ensureDebianPackages(['lsof', 'openssl', 'curl', 'redis-server', 'haproxy']);
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
const results = [];
for (const stage of stages) {
  if (only.length > 0 && !only.includes(stage.name)) continue;
  const result = await runStage(stage);
  results.push(result);
  if (!result.ok && stage.name === 'build') break;
}

console.log('\n== summary');
for (const r of results)
  console.log(
    `${r.ok ? 'ok  ' : 'FAIL'} ${r.name.padEnd(12)} ${String(r.passed).padStart(3)} passed ${String(r.failed).padStart(3)} failed  ${r.seconds.toFixed(1)} s${r.ok ? '' : `  (exit ${r.code})`}`,
  );
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
