/**
 * Renewal without a restart, against the harness's second pebble, which issues certificates that live
 * only a few seconds (ACME_SHORT_VALIDITY_S): the same running manager must start serving new serials
 * before the old certificates expire, and must not renew the name of a tunnel that has gone.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateManager } from '../../relay/tls/certificates.js';
import {
  acmeEnv,
  handshake,
  recordingLog,
  startChallengeServer,
  startHttps,
  tempDir,
  timings,
  waitFor,
  withTimeout,
  type Handshake,
} from './support.js';

const DOMAIN = 'renew.test';
const test = suite('certificate renewal');
const clock = timings('renewal.test.ts');

test.after(() => clock.print());

test('short-lived certificates are renewed by the running manager before they expire', () =>
  clock.time('renewal without restart', async () => {
    const challenge = await startChallengeServer();
    const live = new Set(['tun', 'gone']);
    const log = recordingLog();
    const manager = new CertificateManager({
      domain: DOMAIN,
      email: `ops@${DOMAIN}`,
      directoryUrl: acmeEnv.shortDirectoryUrl(),
      dataDir: tempDir('renewal'),
      skipSelfCheck: true,
      isLiveName: (sub) => live.has(sub),
      backoffMinMs: acmeEnv.backoffMinMs(),
      log: log.log,
    });
    challenge.state.source = manager;
    await withTimeout(manager.start(), 20_000, 'start()');
    const server = await startHttps(manager);
    try {
      const root = acmeEnv.shortIssuerRoot();
      const first: Record<string, Handshake> = {};
      for (const name of [DOMAIN, `tun.${DOMAIN}`, `gone.${DOMAIN}`]) {
        first[name] = await handshake(server.port, name, root);
        assert.ok(first[name].authorized, `${name}: ${first[name].authorizationError}`);
      }
      live.delete('gone');
      const issuedAt = log.entries.find((e) => e.event === 'acme.issued')?.at ?? Date.now();
      const lifetime = new Date(first[DOMAIN].validTo).getTime() - issuedAt;
      console.log(`    certificate lifetime about ${Math.round(lifetime / 100) / 10} s`);

      const seen: string[] = [];
      const renewed = await waitFor(
        async () => {
          const apex = await handshake(server.port, DOMAIN, root);
          const tun = await handshake(server.port, `tun.${DOMAIN}`, root);
          for (const h of [apex, tun]) if (!h.authorized) seen.push(String(h.authorizationError));
          return apex.serial !== first[DOMAIN].serial && tun.serial !== first[`tun.${DOMAIN}`].serial && { apex, tun };
        },
        acmeEnv.shortValidityMs() * 3 + 5000,
        'new serials for the apex and tun',
      );
      assert.equal(seen, [], 'every handshake during renewal got a valid certificate');
      assert.ok(renewed.apex.authorized && renewed.tun.authorized);
      const noSni = await handshake(server.port, undefined, root);
      assert.is.not(noSni.serial, first[DOMAIN].serial, 'the default certificate (no SNI) follows the renewed apex');

      const renewals = log.entries.filter((e) => e.event === 'acme.order' && e.fields.reason === 'renewal');
      const renewedNames = renewals.map((e) => String(e.fields.names).split(',')[0]);
      assert.ok(renewedNames.includes(DOMAIN) && renewedNames.includes(`tun.${DOMAIN}`), `renewal orders: ${renewedNames}`);
      assert.not.ok(renewedNames.includes(`gone.${DOMAIN}`), 'no renewal for a tunnel that has gone');
      await waitFor(async () => log.count('tls.renew-skipped') > 0, acmeEnv.shortValidityMs() + 5000, 'gone skipped');

      const apexRenewed = log.entries.find(
        (e) => e.event === 'acme.issued' && e.at > issuedAt && String(e.fields.names).split(',')[0] === DOMAIN,
      );
      assert.ok(apexRenewed && apexRenewed.at < new Date(first[DOMAIN].validTo).getTime(), 'renewed before the old certificate expired');
      assert.ok(
        manager.expiries().every((e) => e.notAfter.getTime() > Date.now()),
        'expiries() reports the renewed certificates',
      );
    } finally {
      manager.stop();
      await server.close();
      await challenge.close();
    }
  }));

test.run();
