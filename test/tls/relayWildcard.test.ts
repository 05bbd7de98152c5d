/**
 * The relay process with a wildcard certificate, so a brand-new tunnel name is served at once with no
 * order: one from DNS-01 through a hook module (against pebble), or your own files (--tls-cert/--tls-key).
 */
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { selfSignedCertificate } from '../selfSigned.cjs';
import { freePort, startOrigin, type Origin } from '../helpers';
import { acmeArgs, domainArgs, fetchTls, httpGet, shareTls, startTlsRelay, stopProcesses } from './relayProcess.js';
import { acmeEnv, handshake, tempDir, timings } from './support.js';

const HOOK = path.join(__dirname, 'challtestsrv-hook.mjs');

const test = suite('the relay process with a wildcard certificate');
const clock = timings('relayWildcard.test.ts');
let origin: Origin;

test.before(async () => {
  origin = await startOrigin();
});

test.after(async () => {
  await stopProcesses();
  await origin?.close();
  clock.print();
});

test('with --acme-dns-hook the relay holds one wildcard from DNS-01; a brand-new name is served at once, with no order', () =>
  clock.time('DNS-01 wildcard through a hook module', async () => {
    const domain = 'wild-relay.test';
    const port = await freePort();
    const wild = await startTlsRelay([
      ...acmeArgs(domain, acmeEnv.directoryUrl(), tempDir('relay-wild'), await freePort(), port),
      '--acme-dns-hook',
      HOOK,
    ]);
    try {
      assert.equal(
        wild.orders().map((o) => [o.names, o.reason]),
        [[`${domain},*.${domain}`, 'start-up']],
      );
      const apex = await handshake(port, domain, acmeEnv.issuerRoot());
      assert.ok(apex.authorized, apex.authorizationError);
      assert.match(apex.names, `DNS:*.${domain}`);
      assert.match(apex.names, `DNS:${domain}`);

      const resolver = new Resolver({ timeout: 2000, tries: 1 });
      resolver.setServers([acmeEnv.dnsServer()]);
      assert.equal(
        await resolver.resolveTxt(`_acme-challenge.${domain}`).then(
          (r) => r.flat(),
          () => [],
        ),
        [],
        'the hook removed its TXT records',
      );

      for (const extra of [['--subdomain', `brand-new-${Date.now() % 100000}`], []]) {
        const fresh = await shareTls(origin.port, `https://${domain}:${port}`, process.env.ACME_ISSUER_ROOT as string, extra);
        const host = new URL(fresh.url).hostname;
        const t0 = Date.now();
        const reply = await fetchTls(port, host, acmeEnv.issuerRoot());
        console.log(`    ${host}: first HTTPS request ${Date.now() - t0} ms after the agent was ready`);
        assert.is(reply.status, 200);
        assert.is(reply.serial, apex.serial, 'the wildcard certificate');
        await fresh.stop();
      }
      assert.is(wild.orders().length, 1, 'no order for new tunnel names');
    } finally {
      await wild.stop();
    }
  }));

test('--tls-cert/--tls-key: a wildcard of your own serves the tunnels over HTTPS', () =>
  clock.time('bring your own certificate', async () => {
    const domain = 'own.test';
    const dir = tempDir('relay-own');
    const cert = path.join(dir, 'fullchain.pem');
    const key = path.join(dir, 'privkey.pem');
    selfSignedCertificate({ cert, key, names: [domain, `*.${domain}`], days: 2 });
    const [httpPort, port] = [await freePort(), await freePort()];
    const own = await startTlsRelay([...domainArgs(domain, httpPort, port), '--tls-cert', cert, '--tls-key', key]);
    try {
      const tunnel = await shareTls(origin.port, `https://${domain}:${port}`, cert, ['--subdomain', 'mine']);
      assert.is(tunnel.url, `https://mine.${domain}:${port}`);
      const reply = await fetchTls(port, `mine.${domain}`, fs.readFileSync(cert));
      assert.is(reply.status, 200);
      assert.is(reply.body, 'hello from origin\n');
      assert.is(reply.names, `DNS:${domain}, DNS:*.${domain}`);
      const redirect = await httpGet(httpPort, `mine.${domain}`, '/x');
      assert.is(redirect.status, 308);
      assert.is(redirect.headers.location, `https://mine.${domain}:${port}/x`);
      assert.not.ok(
        own.log().some((e) => e.event.startsWith('acme.')),
        'no ACME with your own certificate',
      );
      await tunnel.stop();
    } finally {
      await own.stop();
    }
  }));

test.run();
