/**
 * The relay's metrics: behind the admin token, counting tunnels, requests, bytes and reconnects, and
 * certificate expiry with TLS. Relays run in-process; one agent is a real `porthole share` process.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentState } from '../../extension/agent/agent';
import { staticCertificate } from '../../relay/tls/staticCertificate';
import { startRelay } from '../../relay/server';
import { selfSignedCertificate } from '../selfSigned.cjs';
import { agent, disposeAfterEach, freePort, quietLog, relay, request, run, startOrigin, waitFor, type Origin } from '../helpers';

const ADMIN = 'admin-token-0123456789';
const ctx = {} as { origin: Origin; dir: string };
const it = suite('metrics', ctx);
const later = disposeAfterEach(it);

it.before(async () => {
  ctx.origin = await startOrigin();
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-metrics-'));
});
it.after(async () => {
  await ctx.origin.close();
  fs.rmSync(ctx.dir, { recursive: true, force: true });
});

/** Prometheus text → { 'name{labels}': value }, checking every sample line's shape on the way. */
function parseMetrics(text: string): Record<string, number> {
  const samples: Record<string, number> = {};
  for (const line of text.trimEnd().split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-z_]+(?:\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})?) (-?\d+(?:\.\d+)?)$/.exec(line);
    assert.ok(match, `not a Prometheus sample: ${line}`);
    samples[match[1]] = Number(match[2]);
  }
  return samples;
}

async function metrics(port: number): Promise<Record<string, number>> {
  const reply = await request(port, 'localhost', { path: '/_porthole/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.is(reply.status, 200, reply.body.toString());
  return parseMetrics(reply.body.toString());
}

it('GET /_porthole/metrics needs the admin token; without one configured there is no such page', async () => {
  const r = later(await relay({ adminToken: ADMIN }), (x) => x.close(0));
  const anonymous = await request(r.httpPort, 'localhost', { path: '/_porthole/metrics' });
  assert.is(anonymous.status, 401);
  assert.match(String(anonymous.headers['www-authenticate']), /^Bearer /);
  assert.match(anonymous.body.toString(), 'Authorization: Bearer');
  for (const authorization of ['Bearer wrong-token', `Bearer ${ADMIN}x`, `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`]) {
    assert.is(
      (await request(r.httpPort, 'localhost', { path: '/_porthole/metrics', headers: { authorization } })).status,
      401,
      authorization,
    );
  }
  const ok = await request(r.httpPort, 'localhost', { path: '/_porthole/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.is(ok.status, 200);
  assert.is(ok.headers['content-type'], 'text/plain; version=0.0.4');
  assert.match(ok.body.toString(), '# TYPE porthole_tunnels gauge');

  const without = later(await relay(), (x) => x.close(0));
  const none = await request(without.httpPort, 'localhost', { path: '/_porthole/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.is(none.status, 404);
  assert.match(none.body.toString(), '--admin-token');
});

it('metrics count tunnels by state, requests by status class, bytes in and out, and agent reconnects', async () => {
  const r = later(await relay({ adminToken: ADMIN, gracePeriodMs: 30_000 }), (x) => x.close(0));
  const counted = later(await agent(r.url, ctx.origin.port, { subdomain: 'counted' }), (a) => a.stop());
  later(await agent(r.url, await freePort(), { subdomain: 'dead-end' }), (a) => a.stop());
  const killed = later(run(['dist/cli.js', 'share', String(ctx.origin.port), '--relay', r.url, '--subdomain', 'killed', '--json']), (c) =>
    c.stop('SIGKILL'),
  );
  await waitFor(() => r.registry.lookup('killed')?.tunnel, 10_000, 'the agent that will be killed');
  killed.process.kill('SIGKILL');
  await waitFor(() => r.registry.lookup('killed')?.reconnectingUntil, 15_000, "the killed agent's name to wait for it");

  for (let i = 0; i < 3; i++) assert.is((await request(r.httpPort, counted.host, { path: '/hello' })).status, 200);
  assert.is((await request(r.httpPort, counted.host, { path: '/missing' })).status, 404);
  const upload = Buffer.alloc(1000, 'x');
  assert.equal((await request(r.httpPort, counted.host, { path: '/echo', method: 'POST', body: upload })).body, upload);
  assert.is((await request(r.httpPort, `dead-end.localhost:${r.httpPort}`, { path: '/hello' })).status, 502);

  const before = await metrics(r.httpPort);
  assert.is(before['porthole_tunnels{state="live"}'], 2);
  assert.is(before['porthole_tunnels{state="reconnecting"}'], 1);
  assert.is(before['porthole_requests_total{class="2xx"}'], 4);
  assert.is(before['porthole_requests_total{class="4xx"}'], 1);
  assert.is(before['porthole_requests_total{class="5xx"}'], 1);
  assert.is(before['porthole_bytes_total{direction="in"}'], 1000);
  assert.is(before['porthole_bytes_total{direction="out"}'], 3 * 'hello from origin\n'.length + 'origin: no such path'.length + 1000);
  assert.is(before.porthole_agent_connections_total, 3);
  assert.is(before.porthole_agent_reconnects_total, 0, 'first connections are not reconnects');

  // The connection drops without a close handshake, as on a network failure: the agent comes back to its name.
  const states: string[] = [];
  counted.on('state', (s: AgentState) => states.push(s.status));
  r.registry.lookup('counted')?.tunnel?.ws.terminate();
  await waitFor(() => states.at(-1) === 'live', 10_000, 'the agent to reconnect');
  const after = await metrics(r.httpPort);
  assert.is(after.porthole_agent_reconnects_total, 1);
  assert.is(after.porthole_agent_connections_total, 4);
  assert.is(after['porthole_tunnels{state="live"}'], 2);
});

it("with TLS, metrics report each certificate's expiry and are not served over plain HTTP", async () => {
  const cert = path.join(ctx.dir, 'cert.pem');
  const key = path.join(ctx.dir, 'key.pem');
  selfSignedCertificate({ cert, key, names: ['ops.test', '*.ops.test'], days: 3 });
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const source = staticCertificate(cert, key);
  later(
    await startRelay({
      config: { httpPort, domain: 'ops.test', adminToken: ADMIN, tls: { kind: 'files', httpsPort, certFile: cert, keyFile: key } },
      certificates: source,
      log: quietLog,
    }),
    (x) => x.close(0),
  );
  const text = await new Promise<string>((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port: httpsPort,
          servername: 'ops.test',
          path: '/_porthole/metrics',
          ca: fs.readFileSync(cert),
          agent: false,
          headers: { host: 'ops.test', authorization: `Bearer ${ADMIN}` },
        },
        (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (d: string) => {
              body += d;
            })
            .on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}: ${body}`))));
        },
      )
      .on('error', reject);
  });
  const notAfter = Math.floor(new Date(new X509Certificate(fs.readFileSync(cert)).validTo).getTime() / 1000);
  assert.is(parseMetrics(text)['porthole_certificate_expiry_seconds{name="ops.test,*.ops.test"}'], notAfter);
  const plain = await request(httpPort, 'ops.test', { path: '/_porthole/metrics', headers: { authorization: `Bearer ${ADMIN}` } });
  assert.is(plain.status, 308);
  assert.is(plain.headers.location, `https://ops.test:${httpsPort}/_porthole/metrics`);
});

it.run();
