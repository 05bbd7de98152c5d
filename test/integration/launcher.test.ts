/**
 * `node relay` (relay/index.js): in a checkout of the sources it builds dist/relay.js when it is missing
 * or older than a source, so a `git pull` is never served by an old bundle; a deployed copy without
 * sources runs its bundle as it is. Each case runs on a copy of the sources in a temporary folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root, run } from '../helpers';

const ctx = {} as { dir: string };
const test = suite('node relay: the launcher', ctx);

test.before(() => {
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-launcher-'));
});
test.after(() => fs.rmSync(ctx.dir, { recursive: true, force: true }));

/**
 * Runs `node <copy>/relay --help`; resolves with its exit code and output. Without uvu's FORCE_COLOR,
 * which beside npm test's NO_COLOR makes Node print a warning of its own on stderr.
 */
async function launch(copy: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = run([path.join(copy, 'relay'), '--help'], { FORCE_COLOR: undefined });
  const code = await child.exited;
  return { code, out: child.out, err: child.err };
}

test('a checkout builds the bundle on the first run, and again only once a source is newer than it', async () => {
  const copy = path.join(ctx.dir, 'checkout');
  for (const entry of ['relay', 'core', 'esbuild.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'])
    fs.cpSync(path.join(root, entry), path.join(copy, entry), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  const bundle = path.join(copy, 'dist', 'relay.js');

  const first = await launch(copy);
  assert.is(first.code, 0, first.err);
  assert.match(first.err, 'no dist/relay.js yet: building it');
  assert.match(first.out, /^Usage: node relay/);

  const again = await launch(copy);
  assert.is(again.err, '', 'a fresh bundle runs as it is');

  // A pull changes a source: its time is after the bundle's.
  const usage = path.join(copy, 'relay', 'usage.ts');
  fs.writeFileSync(usage, fs.readFileSync(usage, 'utf8').replace('Starts a Porthole relay.', 'Starts a Porthole relay, as pulled.'));
  const past = new Date(Date.now() - 60_000);
  fs.utimesSync(bundle, past, past);
  const pulled = await launch(copy);
  assert.is(pulled.code, 0, pulled.err);
  assert.match(pulled.err, 'the sources changed since dist/relay.js was built');
  assert.match(pulled.out, 'Starts a Porthole relay, as pulled.');
  assert.equal(
    fs.readdirSync(path.dirname(bundle)).filter((f) => f.endsWith('.tmp')),
    [],
    'no temporary file left',
  );
});

test('a deployed copy (index.js and the bundle, no sources) runs its bundle, and says what to do without one', async () => {
  const deployed = path.join(ctx.dir, 'deployed');
  fs.mkdirSync(path.join(deployed, 'relay'), { recursive: true });
  fs.copyFileSync(path.join(root, 'relay', 'index.js'), path.join(deployed, 'relay', 'index.js'));
  fs.cpSync(path.join(root, 'dist', 'relay.js'), path.join(deployed, 'dist', 'relay.js'));
  const ran = await launch(deployed);
  assert.is(ran.code, 0, ran.err);
  assert.is(ran.err, '');
  assert.match(ran.out, /^Usage: node relay/);

  fs.rmSync(path.join(deployed, 'dist'), { recursive: true });
  const missing = await launch(deployed);
  assert.is(missing.code, 2);
  assert.match(missing.err, 'this copy has no sources to build it from. Reinstall the package.');
});

test.run();
