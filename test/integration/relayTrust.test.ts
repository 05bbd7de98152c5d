/**
 * `porthole share` against relays that are wrong rather than down: a certificate this machine does
 * not trust (and the advice that fixes it), a certificate for other names, TLS asked of a plain
 * port, a server that is no relay. Each stops at the first attempt with a sentence that says what
 * to do; retrying would not help. (Waiting relays, 1013, are in test/cluster/redis.test.ts.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type Child, type Origin, exitWithin, relay, run, startOrigin, waitFor } from '../helpers';
import { type Certificate, http1Get, makeCertificate, tlsRelay } from '../tlsRelay';
import type { Relay } from '../../relay/server';

const RESOLVE_TEST_NAMES = path.join(__dirname, '..', 'tls', 'resolve-test-names.cjs');
const ctx = {} as { origin: Origin; certificate: Certificate; relay: Relay & { httpsPort: number } };
const it = suite('the agent and a relay it cannot use', ctx);

it.before(async () => {
  ctx.origin = await startOrigin();
  ctx.certificate = makeCertificate();
  ctx.relay = await tlsRelay(ctx.certificate);
});
it.after(async () => {
  await ctx.relay.close(0);
  await ctx.origin.close();
});

/** `porthole share` with --json against `relayUrl`; the test names resolve to 127.0.0.1. */
function shareWith(relayUrl: string, env: NodeJS.ProcessEnv = {}, args: string[] = []): Child {
  return run(['dist/cli.js', 'share', String(ctx.origin.port), '--relay', relayUrl, '--json', ...args], {
    NODE_OPTIONS: `--require "${RESOLVE_TEST_NAMES}"`,
    ...env,
  });
}

/** It exits 1 after one attempt, with `message` on stderr and in the error event. */
async function refusedAtOnce(child: Child, code: string, message: RegExp): Promise<void> {
  try {
    assert.is(await exitWithin(child, 15_000), 1, child.err);
  } finally {
    await child.stop();
  }
  assert.match(child.err, message);
  const events = child.events();
  assert.equal(
    events.filter((e) => e.event === 'connecting' || e.event === 'reconnecting'),
    [],
    'not retried: trying again cannot help',
  );
  const error = events.find((e) => e.event === 'error');
  assert.is(error?.code, code);
  assert.match(String(error?.message), message);
}

it('an untrusted relay certificate stops at once and names NODE_EXTRA_CA_CERTS; following the advice works', async () => {
  await refusedAtOnce(
    shareWith(ctx.relay.url),
    'certificate',
    /certificate is not trusted by this machine \(DEPTH_ZERO_SELF_SIGNED_CERT\).*NODE_EXTRA_CA_CERTS=\/path\/to\/ca\.pem.*README, “Trusting the relay’s certificate”/,
  );
  const trusted = shareWith(ctx.relay.url, { NODE_EXTRA_CA_CERTS: ctx.certificate.certFile }, ['--subdomain', 'trusted']);
  try {
    await waitForReady(trusted);
  } finally {
    await trusted.stop();
  }
});

it('a certificate for other names stops at once and says to check the URL', async () => {
  await refusedAtOnce(
    shareWith(`https://127.0.0.1:${ctx.relay.httpsPort}`, { NODE_EXTRA_CA_CERTS: ctx.certificate.certFile }),
    'certificate',
    /certificate is for other names than 127\.0\.0\.1 \(ERR_TLS_CERT_ALTNAME_INVALID\).*Check the relay URL/,
  );
});

it('https:// to a port that speaks plain HTTP stops at once and gives the http:// URL', async () => {
  const plain = await relay();
  try {
    await refusedAtOnce(
      shareWith(`https://localhost:${plain.httpPort}`),
      'unreachable',
      new RegExp(`does not speak TLS on that port: use http://localhost:${plain.httpPort} as the relay URL`),
    );
  } finally {
    await plain.close(0);
  }
});

it('a server that is no Porthole relay stops at once; one answering "busy" (503) is waited for', async () => {
  let busy = true;
  let asked = 0;
  const server = http.createServer((_req, res) => {
    res.writeHead(404).end('no tunnels here');
  });
  const gateway = http.createServer((_req, res) => {
    asked++;
    if (busy) res.writeHead(503, { 'retry-after': '1' }).end('busy');
    else res.writeHead(404).end();
  });
  await Promise.all([server, gateway].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const port = (s: http.Server) => (s.address() as AddressInfo).port;
  try {
    await refusedAtOnce(
      shareWith(`http://127.0.0.1:${port(server)}`),
      'unreachable',
      /answered HTTP 404 instead of accepting the agent: is it a Porthole relay\?/,
    );
    // As many 503s as the attempts a down relay gets: none counts, and each wait lasts at least Retry-After.
    const patient = shareWith(`http://127.0.0.1:${port(gateway)}`);
    try {
      await waitFor(
        () => {
          if (patient.process.exitCode !== null) throw new Error(`it gave up: ${patient.err}`);
          return patient.events().filter((e) => e.event === 'connecting').length >= 5;
        },
        60_000,
        'five retries of a busy relay',
      );
      const retry = patient.events().find((e) => e.event === 'connecting');
      assert.match(String(retry?.reason), /the relay is full or restarting \(HTTP 503\)/);
      assert.ok(Number(retry?.retryInMs) >= 900, `waited for Retry-After: ${retry?.retryInMs} ms`);
      busy = false;
      assert.is(await exitWithin(patient, 60_000), 1, 'once it answers 404, it stops');
      assert.ok(asked >= 6);
    } finally {
      await patient.stop();
    }
  } finally {
    server.close();
    gateway.close();
  }
});

async function waitForReady(child: Child): Promise<void> {
  const ready = await waitFor(
    () => {
      if (child.process.exitCode !== null) throw new Error(`porthole share exited ${child.process.exitCode}: ${child.err}`);
      return child.events().find((e) => e.event === 'ready');
    },
    15_000,
    'the ready event',
  );
  const host = new URL(String(ready.url)).host;
  assert.is(host, `trusted.porthole.test:${ctx.relay.httpsPort}`);
  const reply = await http1Get(ctx.relay.httpsPort, host, ctx.certificate, '/hello');
  assert.is(reply.body.toString(), 'hello from origin\n');
}

it.run();
