/** Bring your own certificate (--tls-cert/--tls-key): served for every name, and re-read when the files change. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { staticCertificate } from '../../relay/tls/staticCertificate.js';
import { selfSignedCertificate } from '../selfSigned.cjs';
import { handshake, recordingLog, startHttps, tempDir, timings, waitFor } from './support.js';

const test = suite('static certificate files');
const clock = timings('static.test.ts');
const dir = tempDir('static');
const certPath = path.join(dir, 'cert.pem');
const keyPath = path.join(dir, 'key.pem');

/** A self-signed wildcard, as a person might bring from elsewhere. */
function makeCertificate(): void {
  selfSignedCertificate({ cert: certPath, key: keyPath, names: ['own.test', '*.own.test'] });
}

test.after(() => clock.print());

test('serves the files for every name and picks up replaced files without a restart', () =>
  clock.time('static certificate + reload', async () => {
    makeCertificate();
    const log = recordingLog();
    const source = staticCertificate(certPath, keyPath, { reloadIntervalMs: 100, log: log.log });
    await source.start();
    const server = await startHttps(source);
    try {
      const ca = () => fs.readFileSync(certPath);
      const first = await handshake(server.port, 'foo.own.test', ca());
      assert.ok(first.authorized, String(first.authorizationError));
      assert.match(first.names, 'DNS:*.own.test');
      assert.is((await handshake(server.port, undefined, ca())).serial, first.serial, 'default certificate without SNI');
      assert.is(source.handleHttpChallenge({ url: '/.well-known/acme-challenge/x' } as never, {} as never), false);

      makeCertificate();
      const second = await waitFor(
        async () => {
          const h = await handshake(server.port, 'own.test', ca());
          return h.serial !== first.serial && h;
        },
        15_000,
        'the replaced certificate',
      );
      assert.ok(second.authorized);
      assert.ok(log.count('tls.reloaded') >= 1);
      assert.equal(
        source.expiries().map((e) => e.name),
        ['own.test,*.own.test'],
      );
    } finally {
      source.stop();
      await server.close();
    }
  }));

test('unusable files are refused with a message that names them', () =>
  clock.time('static certificate errors', async () => {
    assert.throws(
      () => staticCertificate(path.join(dir, 'missing.pem'), keyPath),
      /Cannot use --tls-cert .*missing\.pem with --tls-key .*ENOENT/,
    );
    const otherKey = path.join(dir, 'other.key.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKey], { stdio: 'pipe' });
    assert.throws(() => staticCertificate(certPath, otherKey), /the private key does not belong to the certificate/);
  }));

test.run();
