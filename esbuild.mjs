// Bundles the relay, the CLI and the VS Code extension into dist/, each a single self-contained file
// (plus the scripts of the extension's webviews),
// so a relay deploys as `dist/relay.js` + `relay/index.js` with no node_modules on the server.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  // ws tries these optional native add-ons; the pure-JS fallbacks are what we test and ship.
  external: ['bufferutil', 'utf-8-validate'],
};
/** The relay alone: relay/index.js rebuilds it when a source is newer than the bundle. */
export const relayBuild = { ...common, entryPoints: { relay: 'relay/main.ts' }, outdir: 'dist' };
const builds = [
  relayBuild,
  { ...common, entryPoints: { cli: 'extension/cli/cli.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  {
    ...common,
    entryPoints: { extension: 'extension/extension.ts' },
    outdir: 'dist',
    external: [...common.external, 'vscode'],
    minify: true,
  },
  // Scripts of the extension's webviews run in the page, loaded with asWebviewUri under the page's CSP.
  {
    bundle: true,
    platform: 'browser',
    target: 'chrome120',
    format: 'iife',
    logLevel: 'warning',
    minify: true,
    entryPoints: { requestLog: 'extension/requestLog/webview/main.ts' },
    outdir: 'dist/webview',
  },
];

// Run as a script it builds; imported (relay/index.js takes relayBuild from it) it builds nothing.
const invoked = process.argv[1] !== undefined && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href;
if (invoked && watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else if (invoked) {
  const started = Date.now();
  await Promise.all(builds.map((options) => esbuild.build(options)));
  console.log(`built dist/ in ${Date.now() - started} ms`);
}
