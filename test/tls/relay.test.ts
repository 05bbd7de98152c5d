/**
 * The built relay (`node relay`) and agent (`dist/cli.js share`) as real processes against pebble: the
 * apex certificate at start-up, tunnels over wss:// and HTTPS with their own certificate, the HTTP → HTTPS
 * redirect, restart reuse, no certificates for dead names, renewal, the DNS-01 wildcard through a hook
 * module, and --tls-cert/--tls-key. Names under `.test` resolve to 127.0.0.1 in the child processes through
 * resolve-test-names.cjs. The tests run in order and share the first relay's data directory.
 */
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { selfSignedCertificate } from '../selfSigned.cjs';
import { freePort, root, run, startOrigin, waitFor as retry, type Child, type Origin } from '../helpers';
import { acmeEnv, handshake, tempDir, timings, waitFor, withTimeout } from './support.js';

const DOMAIN = 'tunnel.test';
const SHIM = path.join(__dirname, 'resolve-test-names.cjs');
const HOOK = path.join(__dirname, 'challtestsrv-hook.mjs');
const START_MS = 30_000;

const test = suite('the relay process with TLS');
const clock = timings('relay.test.ts');
const children: Child[] = [];
const dataDir = tempDir('relay-tls');
let origin: Origin;
let httpsPort: number;
let relay: RelayProcess;
let agent: Child & { url: string };
const serials: Record<string, string> = {};

type LogLine = { event: string; [field: string]: unknown };

interface RelayProcess extends Child {
  /** The relay's JSON log lines so far (stderr with --log-format json). */
  log(): LogLine[];
  orders(): { names: string; reason: string }[];
}

const withShim = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, NODE_OPTIONS: `--require "${SHIM}"` });

/** `node relay` with JSON logs; resolves once it logged relay.listening (after its start-up certificate). */
async function startRelayProcess(args: string[]): Promise<RelayProcess> {
  const child = run(['relay', ...args, '--log-format', 'json'], withShim({}));
  children.push(child);
  const log = () =>
    child.err.split('\n').flatMap((line): LogLine[] => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
  const handle: RelayProcess = Object.assign(child, {
    log,
    orders: () =>
      log()
        .filter((e) => e.event === 'acme.order')
        .map((e) => ({ names: String(e.names), reason: String(e.reason) })),
  });
  await waitFor(
    async () => {
      if (child.process.exitCode !== null) throw new Error(`the relay exited ${child.process.exitCode}: ${child.err.slice(-1500)}`);
      return log().some((e) => e.event === 'relay.listening');
    },
    START_MS,
    'the relay to listen',
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${child.err.slice(-1500)}`);
  });
  return handle;
}

function acmeArgs(domain: string, directory: string, dir: string, httpPort: number, port: number): string[] {
  return [
    '--domain',
    domain,
    '--http-port',
    String(httpPort),
    '--https-port',
    String(port),
    '--acme-directory',
    directory,
    '--acme-email',
    `ops@${domain}`,
    '--data-dir',
    dir,
    '--acme-skip-self-check',
  ];
}

/** `porthole share` against an HTTPS relay, trusting `caFile` for the relay's certificates. */
async function shareTls(relayUrl: string, caFile: string, extra: string[] = []): Promise<Child & { url: string }> {
  const child = run(
    [path.join(root, 'dist/cli.js'), 'share', String(origin.port), '--relay', relayUrl, ...extra, '--json'],
    withShim({ NODE_EXTRA_CA_CERTS: caFile }),
  );
  children.push(child);
  const url = await waitFor(
    async () => {
      if (child.process.exitCode !== null) throw new Error(`porthole share exited ${child.process.exitCode}: ${child.err}`);
      return child.events().find((e) => e.event === 'ready')?.url as string | undefined;
    },
    15_000,
    `the agent to be ready (it said: ${child.err})`,
  );
  return Object.assign(child, { url });
}

interface TlsReply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  names: string;
  serial: string;
}

/** A browser-like HTTPS request (chain and host name verified) to 127.0.0.1:`port` for `host`. */
function fetchTls(port: number, host: string, ca: Buffer, requestPath = '/hello'): Promise<TlsReply> {
  return withTimeout(
    new Promise<TlsReply>((resolve, reject) => {
      const req = https.get(
        { host: '127.0.0.1', port, servername: host, path: requestPath, headers: { host: `${host}:${port}` }, ca, agent: false },
        (res) => {
          const cert = (res.socket as TLSSocket).getPeerCertificate();
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (d: string) => {
              body += d;
            })
            .on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body,
                headers: res.headers,
                names: cert.subjectaltname ?? '',
                serial: cert.serialNumber,
              }),
            );
        },
      );
      req.on('error', reject);
    }),
    15_000,
    `GET https://${host}:${port}${requestPath}`,
  );
}

function httpGet(
  port: number,
  host: string,
  requestPath: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: requestPath, headers: { host, ...headers }, agent: false }, (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (d: string) => {
              body += d;
            })
            .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        })
        .on('error', reject);
    }),
    10_000,
    `GET http://${host}${requestPath}`,
  );
}

async function stopAll(...handles: (Child | undefined)[]): Promise<void> {
  await Promise.all(handles.map((h) => h?.stop()));
}

test.before(async () => {
  origin = await startOrigin();
  httpsPort = await freePort();
});

test.after(async () => {
  await stopAll(...children);
  await origin?.close();
  clock.print();
});

test('the relay obtains the apex certificate at start-up and serves HTTPS with it', () =>
  clock.time('apex at start-up', async () => {
    const t0 = Date.now();
    relay = await startRelayProcess(acmeArgs(DOMAIN, acmeEnv.directoryUrl(), dataDir, acmeEnv.http01Port(), httpsPort));
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
    agent = await shareTls(`https://${DOMAIN}:${httpsPort}`, process.env.ACME_ISSUER_ROOT as string, ['--subdomain', 'bartls']);
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
      5000,
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
        2000,
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
    relay = await startRelayProcess(acmeArgs(DOMAIN, acmeEnv.directoryUrl(), dataDir, acmeEnv.http01Port(), httpsPort));
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
    const short = await startRelayProcess(
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

test('with --acme-dns-hook the relay holds one wildcard from DNS-01; a brand-new name is served at once, with no order', () =>
  clock.time('DNS-01 wildcard through a hook module', async () => {
    const domain = 'wild-relay.test';
    const port = await freePort();
    const wild = await startRelayProcess([
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
        const fresh = await shareTls(`https://${domain}:${port}`, process.env.ACME_ISSUER_ROOT as string, extra);
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
    const own = await startRelayProcess([
      '--domain',
      domain,
      '--http-port',
      String(httpPort),
      '--https-port',
      String(port),
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    try {
      const tunnel = await shareTls(`https://${domain}:${port}`, cert, ['--subdomain', 'mine']);
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
