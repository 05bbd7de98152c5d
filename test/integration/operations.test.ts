/**
 * Running the relay process (`node relay`, built): start-up mistakes, --public-url, JSON logs,
 * graceful shutdown on SIGTERM, and token rotation on SIGHUP.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, type AgentState } from '../../extension/agent/agent';
import type { AgentError } from '../../extension/agent/relayConnection';
import { selfSignedCertificate } from '../selfSigned.cjs';
import {
  agent,
  disposeAfterEach,
  exitWithin,
  freePort,
  relay,
  request,
  run,
  startOrigin,
  startRelayProcess,
  waitFor,
  withTimeout,
  type Origin,
  type RelayLogLine,
  type RelayProcess,
} from '../helpers';

const ctx = {} as { origin: Origin; dir: string };
const it = suite('operations', ctx);
const later = disposeAfterEach(it);

it.before(async () => {
  ctx.origin = await startOrigin();
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-ops-'));
});
it.after(async () => {
  await ctx.origin.close();
  fs.rmSync(ctx.dir, { recursive: true, force: true });
});

/** `node relay --log-format json` on `port`, stopped after the test. */
async function relayProcess(port: number, args: string[] = []): Promise<RelayProcess> {
  return later(await startRelayProcess(['--http-port', String(port), ...args]), (c) => c.stop('SIGKILL'));
}

it('start-up mistakes get one line that says what to do and exit 2, with no stack trace', async () => {
  const taken = later(await relay(), (x) => x.close(0));
  const missing = path.join(ctx.dir, 'missing.pem');
  const [cert, key] = [path.join(ctx.dir, 'start.cert.pem'), path.join(ctx.dir, 'start.key.pem')];
  selfSignedCertificate({ cert, key, names: ['localhost'], days: 1 });
  const cases: [string[], RegExp][] = [
    [['--http-port', String(taken.httpPort)], /127\.0\.0\.1:\d+ is in use: another program listens there\. .*--http-port/],
    [['--http-port', '0', '--https-port', String(taken.httpPort), '--tls-cert', cert, '--tls-key', key], /in use.*--https-port/],
    [['--http-port', '0', '--tls-cert', missing, '--tls-key', missing], /Cannot use --tls-cert .*missing\.pem .*ENOENT/],
    [
      ['--http-port', '0', '--redis', `redis://127.0.0.1:${await freePort()}`, '--cluster-secret', 'a'.repeat(20)],
      /Cannot reach Redis at .*Check --redis/,
    ],
    [['--http-port', '0', '--acme-email', 'ops@example.dev'], /"localhost" is not a domain name a certificate can be issued for/],
    [
      ['--http-port', '0', '--acme-email', 'ops@example.dev', '--domain', 'example.dev', '--acme-dns-hook', missing],
      /Cannot load the DNS-01 hook/,
    ],
    [['--bogus'], /Unknown option '--bogus'[\s\S]*Usage: node relay/],
  ];
  for (const [args, message] of cases) {
    const child = later(run(['relay', ...args]), (c) => c.stop('SIGKILL'));
    assert.is(await exitWithin(child, 30_000), 2, `${args.join(' ')}: ${child.err}`);
    assert.match(child.err, /^porthole relay: /m, args.join(' '));
    assert.match(child.err, message, args.join(' '));
    assert.not.match(child.err, /\n\s+at /, `${args.join(' ')}: no stack trace\n${child.err}`);
  }
});

it('--public-url: tunnel URLs carry the port people use, not the one the relay listens on', async () => {
  const r = later(await relay({ publicPort: 8000 }), (x) => x.close(0));
  assert.is(r.url, 'http://localhost:8000');
  const shared = later(await agent(r.url.replace(':8000', `:${r.httpPort}`), ctx.origin.port, { subdomain: 'fronted' }), (a) => a.stop());
  assert.is(shared.host, 'fronted.localhost:8000');
  assert.is((await request(r.httpPort, shared.host, { path: '/hello' })).status, 200);
});

it('--log-format json prints one JSON object per line for every event, and nothing else', async () => {
  const port = await freePort();
  const child = await relayProcess(port, ['--token', 'log-token-123456']);
  const url = `http://localhost:${port}`;
  const a = later(await agent(url, ctx.origin.port, { subdomain: 'logged', token: 'log-token-123456' }), (x) => x.stop());
  assert.is((await request(port, a.host, { path: '/hello' })).status, 200);
  const refused = await new Agent({ target: String(ctx.origin.port), relay: url, token: 'not-the-token' }).start().then(
    () => undefined,
    (e: AgentError) => e,
  );
  assert.is(refused?.code, 'token');
  child.process.kill('SIGHUP');
  await waitFor(() => child.err.includes('"relay.tokens-reload-skipped"'), 15_000, 'SIGHUP without a tokens file in the log');
  await a.stop();
  await waitFor(() => child.err.includes('"agent.disconnected"'), 15_000, 'the disconnect in the log');
  await child.stop('SIGTERM');
  assert.is(await child.exited, 0);

  const lines = child.err.trimEnd().split('\n');
  for (const line of lines) {
    const entry = JSON.parse(line) as RelayLogLine;
    assert.type(entry.event, 'string', line);
    assert.ok(!Number.isNaN(Date.parse(entry.time)) && entry.time.endsWith('Z'), `time in ${line}`);
  }
  const log = child.log();
  assert.equal(
    log.map((e) => e.event),
    [
      'relay.listening',
      'agent.connected',
      'agent.refused',
      'relay.tokens-reload-skipped',
      'agent.disconnected',
      'relay.stopping',
      'relay.stopped',
    ],
  );
  assert.is(log[0].url, url);
  assert.is(log[1].tunnel, 'logged');
  assert.is(log[1].resumed, false);
  assert.is(log[2].code, 'token');
  assert.is(log[4].clean, true);
  assert.is(child.out, '', 'nothing on stdout in JSON mode');
});

it('SIGTERM: requests in flight complete, agents are told to reconnect, and the process exits 0', async () => {
  const port = await freePort();
  const first = await relayProcess(port);
  const a = later(await agent(`http://localhost:${port}`, ctx.origin.port, { subdomain: 'patient' }), (x) => x.stop());
  const states: AgentState[] = [];
  a.on('state', (s) => states.push(s));
  const seen = ctx.origin.seen.length;
  const slow = request(port, a.host, { path: '/slow?n=1500' });
  // A download read at 6 MiB/s outlasts the slow request. When the agent has sent its last frame, up to a
  // flow-control window of it can still be buffered in the relay on its way to this reader (how much depends
  // on the kernel's socket buffers): a relay that stopped waiting then cut the last MiB in most runs here.
  const size = 16 * 1024 * 1024;
  const rate = 6 * 1024 * 1024;
  const download = new Promise<{ bytes: number; complete: boolean }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: `/bytes?n=${size}`, headers: { host: a.host }, agent: false }, (res) => {
        const started = Date.now();
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          bytes += d.length;
          const ahead = (bytes / rate) * 1000 - (Date.now() - started);
          if (ahead > 0) {
            res.pause();
            setTimeout(() => res.resume(), ahead);
          }
        });
        res.on('close', () => resolve({ bytes, complete: res.complete }));
      })
      .on('error', reject);
  });
  await waitFor(() => ctx.origin.seen.length >= seen + 2, 15_000, 'both requests to reach the local server');
  const t0 = Date.now();
  first.process.kill('SIGTERM');
  const reply = await slow;
  assert.is(reply.status, 200);
  assert.is(reply.body.toString(), 'slow done');
  assert.equal(await download, { bytes: size, complete: true }, 'the slow download arrived whole');
  const code = await withTimeout(first.exited, 30_000, 'the relay to exit after SIGTERM');
  const elapsed = Date.now() - t0;
  assert.is(code, 0);
  console.log(`    relay exited ${elapsed} ms after SIGTERM, once the requests in flight were done`);
  const reconnecting = states.find((s) => s.status === 'reconnecting');
  assert.ok(reconnecting?.status === 'reconnecting' && reconnecting.reason === 'the relay restarted', JSON.stringify(states));
  assert.equal(
    first
      .log()
      .slice(-2)
      .map((e) => e.event),
    ['relay.stopping', 'relay.stopped'],
  );
  assert.is(first.log().at(-2)?.signal, 'SIGTERM');

  const second = await relayProcess(port);
  await waitFor(() => a.state.status === 'live', 15_000, 'the agent back on the restarted relay');
  assert.is(a.url, `http://patient.localhost:${port}`);
  assert.is((await request(port, a.host, { path: '/hello' })).status, 200);
  await a.stop();
  await second.stop('SIGTERM');
  assert.is(await second.exited, 0);
});

it('SIGHUP re-reads --tokens-file: a new token works at once, a removed one is refused and its tunnels closed', async () => {
  const file = path.join(ctx.dir, 'tokens');
  fs.writeFileSync(file, '# agent tokens, one per line\nalpha-token-000001\nbeta-token-000002  # laptop\n');
  const port = await freePort();
  const child = await relayProcess(port, ['--tokens-file', file]);
  const url = `http://localhost:${port}`;
  const reloads = () => child.log().filter((e) => e.event.startsWith('relay.tokens-reload'));
  const hangUp = async (count: number) => {
    child.process.kill('SIGHUP');
    await waitFor(() => reloads().length === count, 15_000, `reload ${count} in the log`);
    return reloads()[count - 1];
  };
  const alpha = later(await agent(url, ctx.origin.port, { subdomain: 'alpha', token: 'alpha-token-000001' }), (x) => x.stop());
  const beta = later(await agent(url, ctx.origin.port, { subdomain: 'beta', token: 'beta-token-000002' }), (x) => x.stop());
  const betaFailed = new Promise<AgentState>((resolve) =>
    beta.on('state', (s) => {
      if (s.status === 'failed') resolve(s);
    }),
  );

  fs.writeFileSync(file, 'alpha-token-000001\ngamma-token-000003\n');
  const reloaded = await hangUp(1);
  assert.equal([reloaded.event, reloaded.count, reloaded.revoked], ['relay.tokens-reloaded', 2, 1]);
  const gamma = later(await agent(url, ctx.origin.port, { subdomain: 'gamma', token: 'gamma-token-000003' }), (x) => x.stop());
  assert.is((await request(port, gamma.host, { path: '/hello' })).status, 200);
  const refused = await new Agent({ target: String(ctx.origin.port), relay: url, token: 'beta-token-000002' }).start().then(
    () => undefined,
    (e: AgentError) => e,
  );
  assert.is(refused?.code, 'token');
  const revoked = await withTimeout(betaFailed, 10_000, 'the tunnel of the removed token to fail');
  assert.ok(
    revoked?.status === 'failed' && revoked.error.code === 'token',
    `the tunnel of the removed token: ${JSON.stringify(beta.state)}`,
  );
  assert.match(revoked.error.message, /revoked/);
  assert.is((await request(port, beta.host, { path: '/hello' })).status, 404, 'its name is free at once');
  assert.is((await request(port, alpha.host, { path: '/hello' })).status, 200, 'a kept token is untouched');

  // An emptied file would open the relay to anyone: the reload is refused and the current tokens stay.
  fs.writeFileSync(file, '# nothing here\n');
  const emptied = await hangUp(2);
  assert.is(emptied.event, 'relay.tokens-reload-failed');
  assert.match(String(emptied.error), /has no tokens/);
  assert.is((await request(port, gamma.host, { path: '/hello' })).status, 200);
  fs.rmSync(file);
  const missing = await hangUp(3);
  assert.is(missing.event, 'relay.tokens-reload-failed');
  assert.match(String(missing.error), /Cannot read the tokens file/);
  const anonymous = await new Agent({ target: String(ctx.origin.port), relay: url }).start().then(
    () => undefined,
    (e: AgentError) => e,
  );
  assert.is(anonymous?.code, 'token', 'the relay still needs a token');

  await child.stop('SIGTERM');
  assert.is(await child.exited, 0);
});

it.run();
