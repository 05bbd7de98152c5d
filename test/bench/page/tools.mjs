// What the page-load benchmark needs beyond the project's own packages, brought in when missing and
// kept outside them: Debian's Chromium (apt), and Vite, the app's large library and playwright-core
// in a cache folder with its own package.json (npm). A second run finds everything and costs nothing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CHROMIUM } from '../../chromium.mjs';
import { ensureDebianPackages } from '../../debian.cjs';

export const CACHE =
  process.env.PORTHOLE_PAGE_BENCH_CACHE ||
  path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'porthole', 'page-bench');
/** Pinned: Vite 8.3.8 is the newest that installs cleanly here; playwright-core as the VS Code tests use. */
export const PACKAGES = { vite: '8.3.8', three: '0.187.0', 'playwright-core': '1.65.1' };

export function installedVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(CACHE, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

export function ensureTools(say) {
  ensureDebianPackages(['chromium', 'openssl'], { chromium: CHROMIUM });
  const missing = Object.entries(PACKAGES).filter(([name, version]) => installedVersion(name) !== version);
  if (missing.length === 0) return;
  const specs = missing.map(([name, version]) => `${name}@${version}`);
  say(`installing ${specs.join(' ')} into ${CACHE}`);
  fs.mkdirSync(CACHE, { recursive: true });
  const manifest = path.join(CACHE, 'package.json');
  if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, '{"name":"porthole-page-bench-tools","private":true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...specs], {
    cwd: CACHE,
    stdio: 'inherit',
    timeout: 600_000,
  });
}

/** A package from the cache folder, never from the project's node_modules. */
export function requireTool(name) {
  return createRequire(path.join(CACHE, 'package.json'))(name);
}
