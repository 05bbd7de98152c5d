#!/usr/bin/env node
// `node relay` from the repository root. The relay is bundled into dist/relay.js; in a fresh clone
// that is built on the first run (npm install runs the build), so one command is all it takes.
const fs = require('node:fs');
const path = require('node:path');
const { execSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'relay.js');
if (!fs.existsSync(bundle)) {
  if (!fs.existsSync(path.join(root, 'esbuild.mjs'))) {
    console.error(`porthole relay: ${bundle} is missing and this copy has no sources to build it from. Reinstall the package.`);
    process.exit(2);
  }
  console.error('porthole relay: first run in this checkout: installing dependencies and building (about a minute)…');
  execSync('npm install --no-audit --no-fund', { cwd: root, stdio: ['ignore', 2, 2] });
}
require(bundle);
