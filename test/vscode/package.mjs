// `npm run package`: builds the .vsix with @vscode/vsce and checks it holds only what it needs.
// package.json's "files" lists what the npm package (relay and CLI) ships, and vsce refuses a
// .vscodeignore next to "files"; so vsce runs on a staging copy of the manifest without "files",
// with the bundled extension, README, licence and .vscodeignore beside it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listZip } from './zip.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REQUIRED = [
  'extension.vsixmanifest',
  '[Content_Types].xml',
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/dist/webview/requestLog.js',
];
const ALLOWED =
  /^(extension\.vsixmanifest|\[Content_Types\]\.xml|extension\/(package\.json|readme\.md|changelog\.md|LICENSE\.txt|dist\/extension\.js|dist\/webview\/requestLog\.js))$/;
const MAX_VSIX_BYTES = 1024 * 1024;

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const vsix = path.join(ROOT, `${manifest.name}-${manifest.version}.vsix`);
const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-vsix-'));
try {
  delete manifest.files;
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2));
  for (const file of [
    'dist/extension.js',
    'dist/webview/requestLog.js',
    'README.md',
    'LICENSE',
    'LICENSE.md',
    'CHANGELOG.md',
    '.vscodeignore',
  ]) {
    if (!fs.existsSync(path.join(ROOT, file))) {
      if (file.startsWith('dist/') || file === '.vscodeignore') throw new Error(`${file} is missing (run node esbuild.mjs first)`);
      continue;
    }
    fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, file), path.join(stage, file));
  }
  // The README's relative links and images (extension/docs/*.png) point into the repository, where
  // the Marketplace reads them; the images themselves stay out of the .vsix.
  const repository = String(manifest.repository?.url ?? '').replace(/\.git$/, '');
  const links = repository ? ['--baseContentUrl', `${repository}/blob/HEAD`, '--baseImagesUrl', `${repository}/raw/HEAD`] : [];
  const vsce = spawnSync(
    path.join(ROOT, 'node_modules/.bin/vsce'),
    ['package', '--no-dependencies', '--skip-license', ...links, '--out', vsix],
    {
      cwd: stage,
      stdio: 'inherit',
      timeout: 120_000,
    },
  );
  if (vsce.status !== 0) throw new Error(`vsce package failed (exit ${vsce.status ?? vsce.signal})`);

  const entries = listZip(fs.readFileSync(vsix));
  const missing = REQUIRED.filter((name) => !entries.some((e) => e.name === name));
  const unexpected = entries.filter((e) => !ALLOWED.test(e.name)).map((e) => e.name);
  const size = fs.statSync(vsix).size;
  for (const e of entries) console.log(`  ${String(e.size).padStart(9)}  ${e.name}`);
  console.log(`${path.relative(ROOT, vsix)}: ${entries.length} files, ${(size / 1024).toFixed(0)} KiB`);
  if (missing.length) throw new Error(`the .vsix lacks ${missing.join(', ')}`);
  if (unexpected.length) throw new Error(`the .vsix holds files it does not need: ${unexpected.join(', ')} (see .vscodeignore)`);
  if (size > MAX_VSIX_BYTES) throw new Error(`the .vsix is ${(size / 1024).toFixed(0)} KiB, over ${MAX_VSIX_BYTES / 1024} KiB`);
} catch (error) {
  console.error(`npm run package failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
