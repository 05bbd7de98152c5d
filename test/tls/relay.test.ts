/**
 * The built relay (`node relay`) and agent (`dist/cli.js share`) as real processes against pebble,
 * certificates by HTTP-01: the apex certificate at start-up, tunnels over wss:// and HTTPS with their
 * own certificate, the HTTP → HTTPS redirect, no certificates for dead names, restart reuse, and
 * renewal. The tests run in order and share the first relay's data directory.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Child, freePort, startOrigin, waitFor as retry, type Origin } from '../helpers';
import { acmeArgs, fetchTls, httpGet, type TlsRelay, shareTls, startTlsRelay, stopAll, stopProcesses } from './relayProcess.js';
import { acmeEnv, handshake, tempDir, timings, waitFor } from './support.js';

const DOMAIN = 'tunnel.test';

const test = suite('the relay process with ACME');
const clock = timings('relay.test.ts');
const dataDir = tempDir('relay-tls');
let origin: Origin;
let httpsPort: number;
let relay: TlsRelay;
let agent: Child & { url: string };
const serials: Record<string, string> = {};

test.before(async () => {
  origin = await startOrigin();
  httpsPort = await freePort();
});

test.after(async () => {
  await stopProcesses();
  await origin?.close();
  clock.print();
});

test('the relay obtains the apex certificate at start-up and serves HTTPS with it', () =>
  clock.time('apex at start-up', async () => {
    const t0 = Date.now();
    relay = await startTlsRelay(acmeArgs(DOMAIN, acmeEnv.directoryUrl(), dataDir, acmeEnv.http01Port(), httpsPort));
    console.log(`    relay process up with its certificate in ${Date.now() - t0} ms`);
    assert.equal(
      relay.orders().map((o) => [o.names, o.reason]),
      [[DOMAIN, 'start-up']],
      'one order, for the apex',
    );
    const health = await fetchTls(httpsPort, DOMAIN, acmeEnv.issuerRoot(), '/_porthole/health');
    assert.is(health.status, 200);
    assert.is(JSON.parse(health.body).ok, true);
    assert.is(health.names, `DNS:${DOMAIN}`);
    serials.apex = health.serial;
    const listening = relay.log().find((e) => e.event === 'relay.listening');
    assert.is(listening?.url, `https://${DOMAIN}:${httpsPort}`);
  }));

test('an agent connects over wss:// and its tunnel answers over HTTPS with a certificate for its name', () =>
  clock.time('agent over wss, tunnel over HTTPS', async () => {
    agent = await shareTls(origin.port, `https://${DOMAIN}:${httpsPort}`, process.env.ACME_ISSUER_ROOT as string, [
      '--subdomain',
      'bartls',
    ]);
    assert.is(agent.url, `https://bartls.${DOMAIN}:${httpsPort}`);
    assert.ok(relay.log().some((e) => e.event === 'agent.connected' && e.tunnel === 'bartls'));
    const t0 = Date.now();
    const reply = await fetchTls(httpsPort, `bartls.${DOMAIN}`, acmeEnv.issuerRoot());
    console.log(`    first HTTPS request, certificate ordered inside the handshake: ${Date.now() - t0} ms`);
    assert.is(reply.status, 200);
    assert.is(reply.body, 'hello from origin\n');
    assert.is(reply.names, `DNS:bartls.${DOMAIN}`);
    assert.is(relay.orders().filter((o) => o.names === `bartls.${DOMAIN}` && o.reason === 'on demand').length, 1);
    // The CLI prints request lines once per event-loop turn: the line may follow the response.
    await retry(
      () => agent.events().some((e) => e.event === 'request' && e.path === '/hello' && e.status === 200),
      15_000,
      'the agent to log the request',
    );
    serials.bartls = reply.serial;
  }));

test('plain HTTP redirects to HTTPS with 308; ACME challenges and agents are not redirected to it', () =>
  clock.time('HTTP → HTTPS redirect', async () => {
    const port = acmeEnv.http01Port();
    const tunnel = await httpGet(port, `bartls.${DOMAIN}`, '/some/page?x=1&y=2');
    assert.is(tunnel.status, 308);
    assert.is(tunnel.headers.location, `https://bartls.${DOMAIN}:${httpsPort}/some/page?x=1&y=2`);
    const apex = await httpGet(port, `${DOMAIN}:${port}`, '/');
    assert.is(apex.status, 308);
    assert.is(apex.headers.location, `https://${DOMAIN}:${httpsPort}/`);
    const challenge = await httpGet(port, DOMAIN, '/.well-known/acme-challenge/no-such-token');
    assert.is(challenge.status, 404, 'challenge paths are answered on port 80, not redirected');
    assert.match(challenge.body, 'No ACME challenge is pending');
    // An agent pointed at http:// gets the redirect too, never a plain-text WebSocket.
    const upgrade = await httpGet(port, DOMAIN, '/_porthole/connect', {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    assert.is(upgrade.status, 308);
  }));

test('a name with no live tunnel gets no certificate of its own and no order', () =>
  clock.time('dead names', async () => {
    const ordersBefore = relay.orders().length;
    for (const name of [`nobody.${DOMAIN}`, `random-${Date.now()}.${DOMAIN}`]) {
      const h = await handshake(httpsPort, name, acmeEnv.issuerRoot());
      assert.not.ok(h.authorized, `${name} must not be trusted`);
      assert.is(h.authorizationError, 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.is(h.serial, serials.apex, `${name} gets the apex certificate`);
      await waitFor(
        async () => relay.log().some((e) => e.event === 'tls.no-tunnel' && e.servername === name),
        15_000,
        `tls.no-tunnel for ${name} in the log`,
      );
    }
    assert.is(relay.orders().length, ordersBefore, 'no order for names without a live tunnel');
  }));

test('a restart serves the same certificates and places no new order; the agent comes back by itself', () =>
  clock.time('restart reuse', async () => {
    const stopped = Date.now();
    await relay.stop('SIGTERM');
    assert.is(await relay.exited, 0, 'SIGTERM exits 0');
    relay = await startTlsRelay(acmeArgs(DOMAIN, acmeEnv.directoryUrl(), dataDir, acmeEnv.http01Port(), httpsPort));
    try {
      const apex = await fetchTls(httpsPort, DOMAIN, acmeEnv.issuerRoot(), '/_porthole/health');
      assert.is(apex.serial, serials.apex, 'same apex serial');
      const back = await retry(
        () => fetchTls(httpsPort, `bartls.${DOMAIN}`, acmeEnv.issuerRoot()),
        15_000,
        'the tunnel over HTTPS after the restart',
      );
      console.log(`    tunnel back over HTTPS ${Date.now() - stopped} ms after the stop`);
      assert.is(back.status, 200);
      assert.is(back.serial, serials.bartls, "same serial for the tunnel's name");
      assert.equal(relay.orders(), [], 'no order after a restart');
      const loaded = relay
        .log()
        .filter((e) => e.event === 'tls.loaded')
        .map((e) => e.name);
      assert.equal(loaded.sort(), [DOMAIN, `bartls.${DOMAIN}`].sort());
      assert.ok(
        agent.events().some((e) => e.event === 'reconnecting' && e.reason === 'the relay restarted'),
        'the agent was told to reconnect',
      );
    } finally {
      // The HTTP-01 port is shared with the next tests: never leave this relay running.
      await stopAll(agent, relay);
    }
  }));

test('a short-lived certificate is renewed by the running relay', () =>
  clock.time('renewal without restart', async () => {
    const domain = 'renew-relay.test';
    const short = await startTlsRelay(
      acmeArgs(domain, acmeEnv.shortDirectoryUrl(), tempDir('relay-renew'), acmeEnv.http01Port(), httpsPort),
    );
    try {
      const ca = acmeEnv.shortIssuerRoot();
      const first = await handshake(httpsPort, domain, ca);
      assert.ok(first.authorized, first.authorizationError);
      const renewed = await waitFor(
        async () => {
          const h = await handshake(httpsPort, domain, ca);
          return h.serial !== first.serial && h;
        },
        15_000,
        'a renewed certificate',
      );
      assert.ok(renewed.authorized, renewed.authorizationError);
      assert.ok(short.orders().some((o) => o.names === domain && o.reason === 'renewal'));
      assert.is(short.process.exitCode, null, 'the same process, never restarted');
    } finally {
      await short.stop();
    }
  }));

test.run();
