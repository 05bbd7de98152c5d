/**
 * One wildcard certificate (*.domain + domain) through DNS-01, with TXT records published in
 * pebble-challtestsrv, which is also the DNS that pebble asks.
 */
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateManager } from '../../relay/tls/certificates.js';
import { loadDns01Hook } from '../../relay/tls/dns01.js';
import { acmeEnv, challtestsrvHook, handshake, recordingLog, startHttps, tempDir, timings, withTimeout } from './support.js';

const DOMAIN = 'wild.test';
const test = suite('ACME wildcard certificate over DNS-01');
const clock = timings('dns01.test.ts');
const dataDir = tempDir('dns01');
let firstSerial = '';

function newManager(logger: ReturnType<typeof recordingLog>, hook: ReturnType<typeof challtestsrvHook>['hook']): CertificateManager {
  return new CertificateManager({
    domain: DOMAIN,
    email: `ops@${DOMAIN}`,
    directoryUrl: acmeEnv.directoryUrl(),
    dataDir,
    skipSelfCheck: true,
    // The wildcard covers every name, so liveness does not decide anything here.
    isLiveName: () => false,
    dns01: hook,
    backoffMinMs: acmeEnv.backoffMinMs(),
    log: logger.log,
  });
}

test.after(() => clock.print());

test('the wildcard and the apex come from one DNS-01 order; TXT records are cleared only after it', () =>
  clock.time('wildcard via DNS-01', async () => {
    const log = recordingLog();
    // The second authorization's hook confirms late: a clean-up after the first validation would remove its record.
    const { hook, calls } = challtestsrvHook(acmeEnv.challtestsrv(), [0, 300]);
    const manager = newManager(log, hook);
    const server = await (async () => {
      await withTimeout(manager.start(), 20_000, 'start()');
      return startHttps(manager);
    })();
    try {
      const root = acmeEnv.issuerRoot();
      const any = await handshake(server.port, `anything-at-all.${DOMAIN}`, root);
      const apex = await handshake(server.port, DOMAIN, root);
      assert.ok(any.authorized, `wildcard not trusted: ${any.authorizationError}`);
      assert.ok(apex.authorized, `apex not trusted: ${apex.authorizationError}`);
      assert.match(any.names, `DNS:*.${DOMAIN}`);
      assert.match(any.names, `DNS:${DOMAIN}`);
      assert.is(any.serial, apex.serial, 'one certificate for both');
      assert.is(log.count('acme.order'), 1);
      assert.is(log.count('acme.order', [DOMAIN, `*.${DOMAIN}`]), 1);
      firstSerial = apex.serial;

      const sets = calls.filter((c) => c.op === 'set');
      const clears = calls.filter((c) => c.op === 'clear');
      assert.is(sets.length, 2, 'one TXT value per authorization');
      assert.ok(
        sets.every((c) => c.name === `_acme-challenge.${DOMAIN}`),
        'both at the same name',
      );
      assert.is.not(sets[0].value, sets[1].value);
      assert.is(clears.length, 2);
      assert.ok(
        Math.min(...clears.map((c) => c.at)) >= Math.max(...sets.map((c) => c.done ?? Infinity)),
        'no clear before every set() finished',
      );

      const resolver = new Resolver({ timeout: 2000, tries: 1 });
      resolver.setServers([acmeEnv.dnsServer()]);
      const left = await resolver.resolveTxt(`_acme-challenge.${DOMAIN}`).then(
        (r) => r.flat(),
        () => [],
      );
      assert.equal(left, [], 'TXT records removed after the order');
    } finally {
      manager.stop();
      await server.close();
    }
  }));

test('a restart reuses the stored wildcard certificate', () =>
  clock.time('wildcard restart reuse', async () => {
    const log = recordingLog();
    const { hook, calls } = challtestsrvHook(acmeEnv.challtestsrv());
    const manager = newManager(log, hook);
    await withTimeout(manager.start(), 20_000, 'start() after restart');
    const server = await startHttps(manager);
    try {
      const h = await handshake(server.port, `other.${DOMAIN}`, acmeEnv.issuerRoot());
      assert.ok(h.authorized);
      assert.is(h.serial, firstSerial);
      assert.is(log.count('acme.order'), 0);
      assert.is(calls.length, 0, 'no DNS changes');
    } finally {
      manager.stop();
      await server.close();
    }
  }));

test('a provider plugin is loaded from a file, and a wrong one is refused with a reason', () =>
  clock.time('DNS-01 plugin loading', async () => {
    const dir = tempDir('dns01-plugin');
    const good = path.join(dir, 'provider.mjs');
    fs.writeFileSync(good, 'export default { calls: [], async set(name, value) { this.calls.push([name, value]); }, async clear() {} };\n');
    const hook = await loadDns01Hook(good);
    await hook.set('_acme-challenge.x.test', 'v');
    assert.equal((hook as unknown as { calls: string[][] }).calls, [['_acme-challenge.x.test', 'v']]);
    const bad = path.join(dir, 'bad.mjs');
    fs.writeFileSync(bad, 'export const set = () => {};\n');
    await loadDns01Hook(bad).then(
      () => assert.unreachable('loaded a hook without clear()'),
      (err: Error) => assert.match(err.message, /must export set\(name, value\) and clear\(name, value\)/),
    );
    await loadDns01Hook(path.join(dir, 'missing.mjs')).then(
      () => assert.unreachable(),
      (err: Error) => assert.match(err.message, /Cannot load the DNS-01 hook .*missing\.mjs/),
    );
  }));

test.run();
