// Bundles the extension-host suite (TypeScript) into one CommonJS file that exports run(), inside
// the extension's folder (dist/test/, ignored by git and by the .vsix), as both runners expect.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export async function buildSuite() {
  const outfile = path.join(ROOT, 'dist', 'test', 'vscode-suite.js');
  await esbuild.build({
    entryPoints: [path.join(ROOT, 'test/vscode/suite/index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    external: ['vscode', 'bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
  });
  return outfile;
}
