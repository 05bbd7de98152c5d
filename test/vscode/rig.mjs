// The real-VS-Code rig: code-server 4.100.3 (VS Code 1.100.3) on a free loopback port with throwaway
// folders, and Debian's Chromium driven by playwright-core. Both come from the tools folder that
// setup.sh fills, never from the project's own node_modules.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM, CHROMIUM_FLAGS } from '../chromium.mjs';
import { waitFor } from '../wait.cjs';

export { waitFor };

export const RIG =
  process.env.PORTHOLE_VSCODE_RIG || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'porthole', 'vscode-rig');
export const CODE_SERVER_VERSION = '4.100.3';

export function rigProblem() {
  const version = (() => {
    try {
      return JSON.parse(fs.readFileSync(path.join(RIG, 'node_modules/code-server/package.json'), 'utf8')).version;
    } catch {
      return undefined;
    }
  })();
  if (version !== CODE_SERVER_VERSION)
    return `code-server ${CODE_SERVER_VERSION} is not installed in ${RIG} (found ${version ?? 'nothing'})`;
  if (!fs.existsSync(path.join(RIG, 'node_modules/playwright-core/package.json'))) return `playwright-core is not installed in ${RIG}`;
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}`;
  return undefined;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net
      .createServer()
      .once('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
  });
}

/**
 * Ends the process group that `pid` leads (a process spawned with `detached: true`, by its id):
 * SIGTERM, then SIGKILL if it has not exited within 5 s. `exited` settles when the process exits.
 */
export async function stopProcessGroup(pid, exited) {
  for (const [signal, ms] of [
    ['SIGTERM', 5000],
    ['SIGKILL', 5000],
  ]) {
    try {
      process.kill(-pid, signal);
    } catch {
      return; // already gone
    }
    let timer;
    const gone = await Promise.race([exited.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    if (gone) return;
  }
}

export const lap = (() => {
  const t0 = Date.now();
  return (message) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${message}`);
})();

/**
 * Starts code-server in its own process group (so stopping it stops its extension hosts too), with
 * config, user data, extensions and XDG folders in a fresh temp folder, and user settings given.
 */
export async function startCodeServer(settings) {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-vscode-'));
  const workspace = path.join(run, 'workspace');
  const userData = path.join(run, 'user-data');
  fs.mkdirSync(workspace);
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const port = await freePort();
  fs.writeFileSync(path.join(run, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(run, 'xdg/config'),
    XDG_DATA_HOME: path.join(run, 'xdg/data'),
    XDG_CACHE_HOME: path.join(run, 'xdg/cache'),
  };
  const log = fs.openSync(path.join(run, 'code-server.log'), 'a');
  const child = spawn(
    path.join(RIG, 'node_modules/.bin/code-server'),
    [
      '--config',
      path.join(run, 'config.yaml'),
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir',
      userData,
      '--extensions-dir',
      path.join(run, 'extensions'),
      workspace,
    ],
    { env, detached: true, stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}/`;
  const server = {
    url,
    port,
    run,
    workspace,
    pid: child.pid,
    logTail: () => fs.readFileSync(path.join(run, 'code-server.log'), 'utf8').split('\n').slice(-30).join('\n'),
    async stop({ keep = false } = {}) {
      await stopProcessGroup(child.pid, exited);
      if (!keep) fs.rmSync(run, { recursive: true, force: true });
    },
  };
  const early = await Promise.race([
    waitFor(async () => (await fetch(`${url}healthz`)).ok, 60_000, `code-server on ${url}`).then(() => undefined),
    exited.then(({ code, signal }) => `code-server exited (${code ?? signal}) during startup`),
  ]).catch((error) => error.message);
  if (early) {
    const tail = server.logTail();
    await server.stop();
    throw new Error(`${early}\n${tail}`);
  }
  return server;
}

/** A headless Chromium with a throwaway profile; close() removes the profile. */
export async function launchBrowser() {
  const { chromium } = createRequire(path.join(RIG, 'package.json'))('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: CHROMIUM_FLAGS,
  });
  return {
    context,
    async close() {
      await context.close().catch((error) => console.error(`closing Chromium: ${error.message}`));
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The workbench URL that loads this extension from source (and optionally runs a tests module). */
export function workbenchUrl(server, { extensionPath, testsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [['extensionDevelopmentPath', remote(extensionPath)]];
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  return `${server.url}?folder=${encodeURIComponent(server.workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}
