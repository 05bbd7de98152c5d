/**
 * CertificateManager against a real ACME server (pebble) with real HTTP-01 validation:
 * apex at start-up, on-demand names for live tunnels only, restart reuse, and errors a person can act on.
 * The tests run in order and share the first manager's data directory.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CertificateManager } from '../../relay/tls/certificates.js';
import { acmeEnv, handshake, httpsGet, recordingLog, startChallengeServer, startHttps, tempDir, timings, withTimeout } from './support.js';

const DOMAIN = 'relay-http.test';
const test = suite('ACME certificates over HTTP-01');
const clock = timings('http01.test.ts');
const live = new Set<string>();
const dataDir = tempDir('http01');
let challenge: Awaited<ReturnType<typeof startChallengeServer>>;
let root: Buffer;
let manager: CertificateManager;
let server: Awaited<ReturnType<typeof startHttps>>;
let log: ReturnType<typeof recordingLog>;
const serials: Record<string, string> = {};

function newManager(logger: ReturnType<typeof recordingLog>, options: { domain?: string; dataDir?: string } = {}): CertificateManager {
  const m = new CertificateManager({
    domain: options.domain ?? DOMAIN,
    email: `ops@${DOMAIN}`,
    directoryUrl: acmeEnv.directoryUrl(),
    dataDir: options.dataDir ?? dataDir,
    skipSelfCheck: true,
    isLiveName: (sub) => live.has(sub),
    backoffMinMs: acmeEnv.backoffMinMs(),
    log: logger.log,
  });
  challenge.state.source = m;
  return m;
}

test.before(async () => {
  challenge = await startChallengeServer();
  root = acmeEnv.issuerRoot();
});

test.after(async () => {
  manager?.stop();
  await server?.close();
  await challenge?.close();
  clock.print();
});

test('the apex certificate is obtained at start-up and served, also to clients without SNI', () =>
  clock.time('apex at start-up', async () => {
    log = recordingLog();
    manager = newManager(log);
    await withTimeout(manager.start(), 20_000, 'start()');
    server = await startHttps(manager);
    const apex = await handshake(server.port, DOMAIN, root);
    assert.ok(apex.authorized, `apex certificate not trusted: ${apex.authorizationError}`);
    assert.match(apex.names, `DNS:${DOMAIN}`);
    assert.is(log.count('acme.order'), 1, 'one order at start-up');
    assert.is(log.count('acme.order', [DOMAIN]), 1);
    const noSni = await handshake(server.port, undefined, root);
    assert.is(noSni.serial, apex.serial, 'default certificate for a client without SNI');
    assert.equal(
      manager.expiries().map((e) => e.name),
      [DOMAIN],
    );
    serials.apex = apex.serial;

    const storeDir = fs.readdirSync(dataDir).map((d) => path.join(dataDir, d))[0];
    assert.is(fs.statSync(path.join(storeDir, 'account.key.pem')).mode & 0o777, 0o600, 'account key mode');
    assert.is(fs.statSync(path.join(storeDir, `${DOMAIN}.key.pem`)).mode & 0o777, 0o600, 'certificate key mode');
  }));

test("a live tunnel's name gets its certificate on its first handshake; concurrent handshakes share one order", () =>
  clock.time('on-demand, 5 concurrent handshakes', async () => {
    live.add('bar');
    const name = `bar.${DOMAIN}`;
    const t0 = Date.now();
    const all = await Promise.all(Array.from({ length: 5 }, () => handshake(server.port, name, root)));
    const elapsed = Date.now() - t0;
    for (const h of all) {
      assert.ok(h.authorized, `on-demand certificate not trusted: ${h.authorizationError}`);
      assert.match(h.names, `DNS:${name}`);
      assert.is(h.serial, all[0].serial, 'every handshake got the same certificate');
    }
    assert.is(log.count('acme.order', [name]), 1, 'exactly one order for five concurrent handshakes');
    const res = await httpsGet(server.port, name, root);
    assert.is(res.status, 200);
    assert.is(res.body, `hello ${name}\n`);
    serials.bar = all[0].serial;
    console.log(`    on-demand issue inside the handshake: ${elapsed} ms`);
  }));

test('a name without a live tunnel gets no certificate of its own (the apex one, which a browser rejects)', () =>
  clock.time('dead names', async () => {
    const ordersBefore = log.count('acme.order');
    for (const name of [`nobody.${DOMAIN}`, `a.bar.${DOMAIN}`, 'elsewhere.example.com']) {
      const h = await handshake(server.port, name, root);
      assert.not.ok(h.authorized, `${name} must not be trusted`);
      assert.is(h.authorizationError, 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.is(h.serial, serials.apex, `${name} is served the apex certificate`);
      await httpsGet(server.port, name, root).then(
        () => assert.unreachable(`a browser-like request to ${name} must fail`),
        (err: Error) => assert.match(err.message, /altnames|Hostname/i),
      );
    }
    assert.is(log.count('acme.order'), ordersBefore, 'no order for names without a live tunnel');
    assert.ok(log.entries.some((e) => e.event === 'tls.no-tunnel' && e.fields.servername === `nobody.${DOMAIN}`));
  }));

test('port 80 answers only ACME challenges; unknown tokens get 404', () =>
  clock.time('challenge endpoint', async () => {
    const get = (p: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: acmeEnv.http01Port(), path: p, agent: false, timeout: 5000 }, (res) => {
            let body = '';
            res
              .setEncoding('utf8')
              .on('data', (d: string) => {
                body += d;
              })
              .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    const unknown = await get('/.well-known/acme-challenge/not-a-token');
    assert.is(unknown.status, 404);
    assert.match(unknown.body, 'No ACME challenge');
    const other = await get('/');
    assert.is(other.body, 'not a challenge\n', 'the manager leaves other paths to the relay');
  }));

test('a restart on the same data directory serves the same certificates without a new order', () =>
  clock.time('restart reuse', async () => {
    manager.stop();
    await server.close();
    log = recordingLog();
    const t0 = Date.now();
    manager = newManager(log);
    await withTimeout(manager.start(), 20_000, 'start() after restart');
    server = await startHttps(manager);
    const apex = await handshake(server.port, DOMAIN, root);
    const bar = await handshake(server.port, `bar.${DOMAIN}`, root);
    console.log(`    restart to both certificates served: ${Date.now() - t0} ms`);
    assert.ok(apex.authorized && bar.authorized);
    assert.is(apex.serial, serials.apex, 'same apex serial');
    assert.is(bar.serial, serials.bar, "same serial for the tunnel's name");
    assert.is(log.count('acme.order'), 0, 'no order after a restart');
    assert.is(log.count('tls.loaded'), 2);
  }));

test('a failed order says what happened and what to check, and the name is not retried at every handshake', () =>
  clock.time('failed orders', async () => {
    const m = newManager(recordingLog(), { domain: 'unreachable.test', dataDir: tempDir('http01-fail') });
    challenge.state.source = undefined; // port 80 answers 404 to every validation
    try {
      const err = await withTimeout(m.start(), 20_000, 'failing start()').then(
        () => undefined,
        (e: Error) => e,
      );
      assert.ok(err, 'start() must fail when validation fails');
      assert.match(
        err.message,
        /^ACME order for unreachable\.test failed: unreachable\.test: .+; check that DNS for unreachable\.test points at this server and port 80 is reachable/,
      );
      console.log(`    start-up error: ${err.message}`);

      live.add('flaky');
      const ordersBefore = log.count('acme.order');
      const first = await handshake(server.port, `flaky.${DOMAIN}`, root);
      const second = await handshake(server.port, `flaky.${DOMAIN}`, root);
      assert.is(first.serial, serials.apex, 'the apex certificate while the name cannot be obtained');
      assert.is(second.serial, serials.apex);
      assert.is(log.count('acme.order') - ordersBefore, 1, 'one attempt, then the name waits');
      const failed = log.entries.find((e) => e.event === 'acme.failed');
      assert.match(String(failed?.fields.error), `ACME order for flaky.${DOMAIN} failed`);
      assert.match(String(failed?.fields.error), `check that DNS for *.${DOMAIN} points at this server`);
    } finally {
      m.stop();
      challenge.state.source = manager;
    }
  }));

test.run();
