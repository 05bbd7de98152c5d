// End-to-end tests in a real VS Code (code-server 4.100.3 + Debian Chromium, headless, offline):
//   (a) the extension-host suite (test/vscode/suite, the run() contract of @vscode/test-electron);
//   (b) UI drives through the workbench as a user would: test/vscode/ui.mjs (share, status bar,
//       request log under load, notifications) and test/vscode/inspector.mjs (the inspector, the
//       Porthole view, the QR code).
// Usage: node test/vscode/run.mjs [--suite-only | --ui-only | --inspector-only]. Installs the rig first when missing
// (test/vscode/setup.sh). Exits non-zero on any failure; every wait is bounded; stops only what it started.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lap, launchBrowser, rigProblem, RIG, startCodeServer, workbenchUrl } from './rig.mjs';
import { buildSuite } from './suite/build.mjs';
import { driveInspector } from './inspector.mjs';
import { driveUi } from './ui.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = process.env.PORTHOLE_E2E_OUT || path.join(ROOT, 'dist', 'e2e');
const SUITE_TIMEOUT_MS = 180_000;
const TOTAL_TIMEOUT_MS = 600_000;
const only = process.argv[2];

// User settings of the throwaway profile: quiet workbench, and the embedded relay on a free port
// (8080 may belong to someone else on a shared machine).
const SETTINGS = {
  'porthole.embeddedRelayPort': 0,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'security.workspace.trust.enabled': false,
};

let cleanup = [];
async function cleanUp() {
  for (const step of cleanup.reverse()) await step().catch((error) => console.error(`cleanup: ${error.message}`));
  cleanup = [];
}
const watchdog = setTimeout(async () => {
  console.error(`FAILED: the e2e run took longer than ${TOTAL_TIMEOUT_MS / 1000} s`);
  await cleanUp();
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

async function main() {
  if (rigProblem()) {
    lap(`${rigProblem()}: installing the rig (test/vscode/setup.sh)`);
    const setup = spawnSync('bash', [path.join(ROOT, 'test/vscode/setup.sh')], { stdio: 'inherit', timeout: 600_000 });
    if (setup.status !== 0 || rigProblem())
      throw new Error(`the rig could not be installed: ${rigProblem() ?? `setup.sh exited ${setup.status}`}`);
  }
  lap(`rig ready in ${RIG}`);
  const build = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit', timeout: 120_000 });
  if (build.status !== 0) throw new Error('node esbuild.mjs failed');
  const suite = await buildSuite();
  lap('extension and suite built');
  fs.mkdirSync(OUT, { recursive: true });
  fs.rmSync(path.join(OUT, 'ui-failure.png'), { force: true }); // from an earlier failed run

  const server = await startCodeServer(SETTINGS);
  let failed = false;
  cleanup.push(() => server.stop({ keep: failed }));
  lap(`code-server ${server.url} (pid ${server.pid})`);
  const browser = await launchBrowser();
  cleanup.push(() => browser.close());
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  try {
    if (only === undefined || only === '--suite-only') await runSuite(browser, server, suite);
    if (only !== '--suite-only' && only !== '--inspector-only') await driveUi(browser, server, { extensionPath: ROOT, outDir: OUT });
    if (only !== '--suite-only' && only !== '--ui-only') await driveInspector(browser, server, { extensionPath: ROOT, outDir: OUT });
  } catch (error) {
    failed = true;
    console.error(`code-server log (kept in ${server.run}):\n${server.logTail()}`);
    throw error;
  }
}

async function runSuite(browser, server, suitePath) {
  const started = Date.now();
  const page = await browser.context.newPage();
  let finish;
  const exited = new Promise((resolve) => (finish = resolve));
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = (args ?? []).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    // The suite's own lines; the workbench's chatter (and its harmless offline gallery error) stays out.
    if (/^\s*(ok|FAIL)\b|extension-host tests|^\s+at |Error/.test(text) && !/open-vsx\.org/.test(text)) lap(`  [vscode ${type}] ${text}`);
  });
  await page.exposeFunction('codeAutomationExit', (code) => finish(code));
  await page.goto(workbenchUrl(server, { extensionPath: ROOT, testsPath: suitePath }));
  const timer = setTimeout(() => finish('timeout'), SUITE_TIMEOUT_MS);
  const code = await exited;
  clearTimeout(timer);
  await page.close();
  lap(`extension-host suite finished with exit code ${code} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (code !== 0)
    throw new Error(
      code === 'timeout' ? `the extension-host suite took longer than ${SUITE_TIMEOUT_MS / 1000} s` : 'the extension-host suite failed',
    );
}

const started = Date.now();
main().then(
  async () => {
    await cleanUp();
    clearTimeout(watchdog);
    lap(`e2e passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
  async (error) => {
    console.error(`FAILED: ${error.stack ?? error}`);
    await cleanUp();
    clearTimeout(watchdog);
    process.exitCode = 1;
  },
);
