// `npm run test:electron`: the same extension-host suite as test/vscode/run.mjs, in VS Code's
// desktop build through @vscode/test-electron (which downloads VS Code 1.100.3 into .vscode-test/:
// needs access to update.code.visualstudio.com, so it cannot run on the offline CI machines).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';
import { buildSuite } from './suite/build.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const VSCODE_VERSION = '1.100.3';

const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-electron-'));
const folder = path.join(workspace, 'folder');
const userData = path.join(workspace, 'user-data');
fs.mkdirSync(folder);
fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
// A free port for the embedded relay: 8080 may be taken.
fs.writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ 'porthole.embeddedRelayPort': 0 }));
try {
  const extensionTestsPath = await buildSuite();
  await runTests({
    version: VSCODE_VERSION,
    extensionDevelopmentPath: ROOT,
    extensionTestsPath,
    launchArgs: [folder, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', userData],
  });
} catch (error) {
  console.error(`test:electron failed: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(workspace, { recursive: true, force: true });
}
