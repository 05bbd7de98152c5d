#!/usr/bin/env node
// `node relay` from the repository root. The relay is bundled into dist/relay.js. In a checkout of the
// sources it is built on the first run (npm install runs the build), and built again whenever a source
// is newer than the bundle, so `git pull` then `node relay` runs what was pulled. A deployed copy (the
// tarball: this file and dist/, no sources) runs its bundle as it is.
const fs = require('node:fs');
const path = require('node:path');
const { execSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'relay.js');
/** What the bundle is built from: the relay's and core's sources, and the dependencies' versions. */
const INPUTS = ['relay', 'core', 'package-lock.json', 'esbuild.mjs'];

/** The newest modification time under `file` (a file or a folder of sources), 0 when it is absent. */
function newest(file) {
  let stat;
  try {
    stat = fs.statSync(file);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of fs.readdirSync(file)) if (entry !== 'deploy') latest = Math.max(latest, newest(path.join(file, entry)));
  return latest;
}

/** Builds dist/relay.js again, written to a temporary name and renamed, so a relay starting meanwhile never reads half a file. */
async function rebuild() {
  const esbuild = require(path.join(root, 'node_modules', 'esbuild'));
  const { relayBuild } = await import(path.join(root, 'esbuild.mjs'));
  const { outputFiles } = await esbuild.build({ ...relayBuild, absWorkingDir: root, write: false });
  for (const output of outputFiles) {
    const temporary = `${output.path}.${process.pid}.tmp`;
    fs.mkdirSync(path.dirname(output.path), { recursive: true });
    fs.writeFileSync(temporary, output.contents);
    fs.renameSync(temporary, output.path);
  }
}

async function ensureBundle() {
  if (!fs.existsSync(path.join(root, 'esbuild.mjs')) || !fs.existsSync(path.join(root, 'relay', 'main.ts'))) {
    if (fs.existsSync(bundle)) return;
    console.error(`porthole relay: ${bundle} is missing and this copy has no sources to build it from. Reinstall the package.`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(root, 'node_modules', 'esbuild'))) {
    console.error('porthole relay: first run in this checkout: installing dependencies and building (about a minute)…');
    execSync('npm install --no-audit --no-fund', { cwd: root, stdio: ['ignore', 2, 2] });
  }
  const built = newest(bundle);
  if (built > 0 && INPUTS.every((input) => newest(path.join(root, input)) <= built)) return;
  console.error(
    `porthole relay: ${built > 0 ? 'the sources changed since dist/relay.js was built' : 'no dist/relay.js yet'}: building it…`,
  );
  await rebuild();
}

ensureBundle().then(
  () => require(bundle),
  (error) => {
    console.error(`porthole relay: could not build dist/relay.js: ${error.message}. Run npm install, then node relay again.`);
    process.exit(2);
  },
);
