// Debian programs the tests run (lsof, openssl, redis-server, haproxy), installed with apt-get when
// missing. Idempotent: nothing happens when every command is on PATH. Plain Node, no dependencies.
'use strict';
const { spawnSync } = require('node:child_process');

/**
 * Installs each package whose command is missing (`commands[i]`, the package name by default).
 * Throws with what to do when apt-get fails; waits for the dpkg lock of a concurrent apt-get.
 */
function ensureDebianPackages(packages, commands = packages) {
  const missing = packages.filter((_, i) => spawnSync('sh', ['-c', `command -v ${commands[i]}`]).status !== 0);
  if (missing.length === 0) return;
  console.error(`== installing ${missing.join(', ')} (apt-get)`);
  const asRoot = process.getuid?.() === 0;
  const apt = (args) =>
    spawnSync(asRoot ? 'apt-get' : 'sudo', [...(asRoot ? [] : ['-n', 'apt-get']), '-o', 'DPkg::Lock::Timeout=300', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
  if (apt(['install', '-y', '-qq', ...missing]).status === 0) return;
  if (apt(['update', '-qq']).status !== 0 || apt(['install', '-y', '-qq', ...missing]).status !== 0) {
    throw new Error(`Could not install ${missing.join(', ')} with apt-get; install them and run the tests again.`);
  }
}

module.exports = { ensureDebianPackages };
