// The extension's share manager without VS Code: a real embedded relay, real agents, real local servers on loopback.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentError } from '../../extension/agent/relayConnection.js';
import { ShareManager, type ShareSettings } from '../../extension/sharing.js';
import { parseTarget, type Target } from '../../extension/agent/target.js';

const logs: string[] = [];
let settings: ShareSettings;
const manager = () =>
  new ShareManager({
    settings: () => settings,
    token: async () => undefined,
    log: { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), error: (m) => logs.push(`error ${m}`) },
  });
async function rejects(promise: Promise<unknown>, pattern: RegExp, why?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(
    error instanceof Error && pattern.test(error.message),
    `${why ?? 'expected a rejection'} matching ${pattern}, got ${String(error)}`,
  );
}
const target = (port: number) => parseTarget(String(port)) as Target;

async function origin(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name, method: req.method, url: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** A public request: to the relay's port on loopback, routed by the Host of the public URL. */
function publicGet(url: string, path = '/'): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: u.port, path, headers: { host: u.host }, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('timeout', () => req.destroy(new Error('public request timed out')));
    req.on('error', reject);
  });
}

test.before.each(() => {
  settings = {
    relayUrl: '',
    subdomain: '',
    hostHeader: 'rewrite',
    maxEntries: 50,
    captureBytes: 64 * 1024,
    localRelayPort: 0,
    compress: true,
  };
});

test('shares a local server through the embedded relay, logs its requests, replays one, stops cleanly', async () => {
  const app = await origin('app');
  const shares = manager();
  try {
    const share = await shares.share({ target: target(app.port) });
    assert.is(share.state.status, 'live');
    assert.match(share.url!, /^http:\/\/[a-z0-9-]+\.localhost:\d+$/);
    assert.ok(share.status.relayEmbedded);
    const requests = new Promise((resolve) => share.once('request', resolve));
    const res = await publicGet(share.url!, '/hello?x=1');
    assert.is(res.status, 200);
    assert.equal(JSON.parse(res.body), { name: 'app', method: 'GET', url: '/hello?x=1' });
    await requests;
    assert.is(share.log.size, 1);
    assert.is(share.status.requests, 1);
    const [first] = share.log.entries();
    assert.is(first!.record.path, '/hello?x=1');
    assert.is(first!.record.status, 200);

    const replayed = await share.replay(first!.seq);
    assert.is(replayed.record.replayOf, first!.record.id);
    assert.is(replayed.record.status, 200);
    assert.is(share.log.size, 2);
    assert.is(share.status.requests, 1, 'a replay is not a public request');

    const again = await shares.share({ target: target(app.port) });
    assert.is(again, share, 'sharing the same server again returns the live share');

    const url = share.url!;
    await shares.stop(share);
    assert.is(shares.shares.length, 0);
    assert.is(share.state.status, 'stopped');
    await rejects(share.replay(first!.seq), /stopped/);
    await rejects(publicGet(url), /ECONNREFUSED/, 'the embedded relay closed with the last share');
  } finally {
    await shares.stopAll();
    await app.close();
  }
});

test('several shares at once, each with its own name, log and status', async () => {
  const [a, b] = await Promise.all([origin('a'), origin('b')]);
  const shares = manager();
  settings.subdomain = 'myapp';
  try {
    const [sa, sb] = await Promise.all([shares.share({ target: target(a.port) }), shares.share({ target: target(b.port) })]);
    assert.is.not(sa.url, sb.url);
    const names = [sa.url!, sb.url!].map((u) => new URL(u).hostname.split('.')[0]).sort();
    assert.is(names[0], 'myapp');
    assert.ok([`myapp-${a.port}`, `myapp-${b.port}`].includes(names[1]!), `the second gets its port appended: ${names[1]}`);
    assert.is(JSON.parse((await publicGet(sa.url!)).body).name, 'a');
    assert.is(JSON.parse((await publicGet(sb.url!)).body).name, 'b');
    await shares.stop(sa);
    assert.is(JSON.parse((await publicGet(sb.url!)).body).name, 'b', 'the other share keeps working');
    assert.is((await publicGet(sa.url!)).status, 404);
  } finally {
    await shares.stopAll();
    await Promise.all([a.close(), b.close()]);
  }
});

test('a refusal leaves the share listed as failed, with the reason', async () => {
  const app = await origin('app');
  const shares = manager();
  settings.subdomain = '-bad-';
  try {
    const error = await shares.share({ target: target(app.port) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(error, AgentError);
    assert.is((error as AgentError).code, 'invalid-name');
    assert.is(shares.shares.length, 1);
    assert.is(shares.shares[0]!.state.status, 'failed');
    assert.ok(logs.some((l) => l.startsWith('error') && l.includes('invalid-name')));
  } finally {
    await shares.stopAll();
    await app.close();
  }
});

test('the log ring is bounded by the setting', async () => {
  const app = await origin('app');
  const shares = manager();
  settings.maxEntries = 10;
  try {
    const share = await shares.share({ target: target(app.port) });
    let seen = 0;
    const all = new Promise<void>((resolve) => share.on('request', () => ++seen === 25 && resolve()));
    for (let i = 0; i < 25; i++) await publicGet(share.url!, `/n/${i}`);
    await all;
    assert.is(share.log.size, 10);
    assert.is(share.log.entries()[0]!.record.path, '/n/15');
    assert.is(share.status.requests, 25);
    shares.configureLogs({ maxEntries: 5, captureBytes: 1024 });
    assert.is(share.agent.captureBytes, 1024);
    assert.is(share.log.entries()[0]!.record.path, '/n/20');
  } finally {
    await shares.stopAll();
    await app.close();
  }
});

test('the compress setting: on, a large JSON answer reaches a visitor as br; off, as the server sent it', async () => {
  const json = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })) });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const encodingOf = (url: string) =>
    new Promise<string | undefined>((resolve, reject) => {
      const u = new URL(url);
      http
        .get({ host: '127.0.0.1', port: u.port, headers: { host: u.host, 'accept-encoding': 'gzip, br' }, agent: false }, (res) => {
          res.resume();
          resolve(res.headers['content-encoding']);
        })
        .on('error', reject);
    });
  const shares = manager();
  try {
    const on = await shares.share({ target: target((server.address() as AddressInfo).port) });
    assert.is(await encodingOf(on.url!), 'br');
    await shares.stop(on);
    settings.compress = false;
    const off = await shares.share({ target: target((server.address() as AddressInfo).port) });
    assert.is(await encodingOf(off.url!), undefined);
  } finally {
    await shares.stopAll();
    server.close();
  }
});

test('an embedded relay that fails to start while sharing stops: the share says why, the log says there was none to stop', async () => {
  settings.localRelayPort = 70_000;
  const m = manager();
  logs.length = 0;
  const sharing = m.share({ target: target(5173) });
  const stopped = m.stopAll();
  await rejects(sharing, /The embedded relay could not start on 127\.0\.0\.1:70000/);
  await stopped;
  assert.ok(
    logs.some((line) => /^info The embedded relay never started \(.*70000.*\), so there is none to stop\.$/.test(line)),
    logs.join('\n'),
  );
});

test.run();
