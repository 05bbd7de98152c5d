// The one way the tests and benchmarks bring in Debian packages (lsof, openssl, redis-server,
// haproxy, pebble, chromium, wrk, sshd…): apt-get, only for what is missing, so a second run costs
// nothing. Plain Node, no dependencies: test/run.mjs and test/vscode/setup.sh call it before npm ci.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

/**
 * Whether `probe` finds the package: an absolute path is a file that must exist, `dpkg` asks dpkg
 * about the package itself (libraries, fonts), anything else is a command that must be on PATH.
 */
function present(pkg, probe) {
  if (probe.startsWith('/')) return fs.existsSync(probe);
  if (probe === 'dpkg') return spawnSync('dpkg', ['-s', pkg], { stdio: 'ignore' }).status === 0;
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', probe], { stdio: 'ignore' }).status === 0;
}

/**
 * Installs each package of `packages` that its probe does not find (`probes[pkg]`; the command named
 * like the package by default), with apt-get as root or through `sudo -n`, waiting for the dpkg lock
 * of a concurrent apt-get. Throws with what to do when apt-get cannot, or installed something its
 * probe still does not find.
 */
function ensureDebianPackages(packages, probes = {}) {
  const probeOf = (pkg) => probes[pkg] ?? pkg;
  const missing = packages.filter((pkg) => !present(pkg, probeOf(pkg)));
  if (missing.length === 0) return;
  console.error(`== installing ${missing.join(', ')} (apt-get)`);
  const asRoot = process.getuid?.() === 0;
  const apt = (args) =>
    spawnSync(asRoot ? 'apt-get' : 'sudo', [...(asRoot ? [] : ['-n', 'apt-get']), '-o', 'DPkg::Lock::Timeout=300', ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
  const install = () => apt(['install', '-y', '-qq', '--no-install-recommends', ...missing]).status === 0;
  if (!install() && (apt(['update', '-qq']).status !== 0 || !install())) {
    throw new Error(`Could not install ${missing.join(', ')} with apt-get; install them and run again.`);
  }
  const stillMissing = missing.filter((pkg) => !present(pkg, probeOf(pkg)));
  if (stillMissing.length > 0) {
    throw new Error(
      `apt-get installed ${stillMissing.join(', ')} but ${stillMissing.map(probeOf).join(', ')} is still missing; install it by hand and run again.`,
    );
  }
}

module.exports = { ensureDebianPackages };
