/**
 * The inspector's data through a real relay, agent and local server: bodies captured up to the
 * capture size and marked when cut, replays with edits reaching the local server, a copied cURL
 * command run by the real curl, and the CLI's --har file.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RequestRecord } from '../../extension/agent/requestRecord';
import { toCurl } from '../../extension/requestLog/curl';
import type { Har } from '../../extension/requestLog/har';
import { agent, exitWithin, harProblems, relay, request, run, share, startOrigin, waitFor, type Origin } from '../helpers';
import type { Relay } from '../../relay/server';

const ctx = {} as { origin: Origin; relay: Relay };
const it = suite('inspector', ctx);
it.before(async () => {
  ctx.origin = await startOrigin();
  ctx.relay = await relay();
});
it.after(async () => {
  await ctx.relay.close(0);
  await ctx.origin.close();
});

/** The next record the agent reports for `path`. */
function recordOf(shared: { on(event: 'request', listener: (r: RequestRecord) => void): unknown }, path: string): Promise<RequestRecord> {
  return new Promise((resolve) => shared.on('request', (r) => r.path === path && resolve(r)));
}

it('bodies are kept up to the capture size, and a cut is marked on the record', async () => {
  const shared = await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'capture', captureBytes: 1024 });
  try {
    const body = Buffer.alloc(5000, 'x');
    const recorded = recordOf(shared, '/echo');
    await request(ctx.relay.httpPort, shared.host, { path: '/echo', method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    const record = await recorded;
    assert.is(record.requestBytes, 5000);
    assert.is(record.requestBody.length, 1024);
    assert.ok(record.requestBodyTruncated);
    assert.is(record.responseBody.length, 1024);
    assert.ok(record.responseBodyTruncated);
    shared.captureBytes = 0;
    const next = recordOf(shared, '/hello');
    await request(ctx.relay.httpPort, shared.host, { path: '/hello' });
    const nothing = await next;
    assert.is(nothing.responseBody.length, 0, 'a changed capture size applies to the next request');
    assert.ok(nothing.responseBodyTruncated, 'and a body not kept at all is marked as cut too');
  } finally {
    await shared.stop();
  }
});

it('a replay with edits reaches the local server as edited, and is recorded as a replay of its original', async () => {
  const shared = await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'replay-edits' });
  try {
    const recorded = recordOf(shared, '/sha');
    await request(ctx.relay.httpPort, shared.host, { path: '/sha', method: 'POST', body: 'original', headers: { 'x-mode': 'test' } });
    const original = await recorded;
    const seen = ctx.origin.seen.length;
    const replay = await shared.replay(
      {
        method: 'PUT',
        path: '/sha',
        headers: ['X-Mode', 'live', 'Content-Length', '8', 'Content-Type', 'text/plain'],
        body: Buffer.from('edited body'),
      },
      original.id,
    );
    assert.is(replay.replayOf, original.id);
    assert.is(replay.method, 'PUT');
    assert.is(replay.status, 200);
    assert.is(JSON.parse(replay.responseBody.toString()).bytes, 11, 'the stale Content-Length was replaced');
    const headers = ctx.origin.seen[seen];
    assert.is(headers['x-mode'], 'live');
    assert.is(headers['content-length'], '11');
    assert.equal(replay.requestHeaders, ['X-Mode', 'live', 'Content-Type', 'text/plain', 'Content-Length', '11'], 'recorded as sent');
  } finally {
    await shared.stop();
  }
});

it('Copy as cURL: the command, run by curl against the public URL, gets the same response', async () => {
  const shared = await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'curl-copy' });
  try {
    const recorded = recordOf(shared, '/echo?kind=json');
    const body = `{"quote":"it's \\"here\\"","newline":"a\\nb","unicode":"Jürgen €"}`;
    await request(ctx.relay.httpPort, shared.host, {
      path: '/echo?kind=json',
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-signature': "t=1,v1='abc'", 'user-agent': 'Stripe/1.0' },
    });
    const record = await recorded;
    const command = toCurl(record, `http://${shared.host}`);
    // Asynchronously: the relay and the agent run in this process.
    const { stdout: out } = await promisify(execFile)(
      'bash',
      ['-c', `${command} --silent --show-error --include --resolve ${shared.host}:127.0.0.1`],
      {
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
    const [head, ...rest] = out.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 200/);
    assert.is(rest.join('\r\n\r\n'), record.responseBody.toString());
    const again = await waitFor(
      () => [...ctx.origin.seen].reverse().find((h) => h['x-signature'] === "t=1,v1='abc'" && h['user-agent'] === 'Stripe/1.0'),
      15_000,
      'curl at the origin',
    );
    assert.is(again['content-type'], 'application/json');
  } finally {
    await shared.stop();
  }
});

it('Copy as cURL of a private share: the command gets in with the link key, for a POST and a GET', async () => {
  const shared = await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'curl-private', access: { privateLink: true } });
  const { httpPort } = ctx.relay;
  try {
    assert.ok(shared.link, 'the share has a private link');
    const key = new URL(shared.link).search;
    const run = async (record: RequestRecord) => {
      const command = `${toCurl(record, `http://${shared.host}`, { privateLink: shared.link })} --silent --show-error`;
      return (await promisify(execFile)('bash', ['-c', command], { encoding: 'utf8', timeout: 10_000 })).stdout;
    };
    assert.is((await request(httpPort, shared.host, { path: '/hello' })).status, 403, 'without the key: refused');

    const posted = recordOf(shared, '/sha');
    assert.is((await request(httpPort, shared.host, { path: `/sha${key}`, method: 'POST', body: 'secret' })).status, 200);
    const post = await posted;
    assert.is(post.path, '/sha', 'the key never reached the local server');
    assert.is(await run(post), post.responseBody.toString());

    // A browser's visit: the link answers with a redirect that sets the cookie; the page comes with it.
    const fetched = recordOf(shared, '/hello');
    const first = await request(httpPort, shared.host, { path: `/hello${key}` });
    assert.is(first.status, 303);
    const cookie = String(first.headers['set-cookie']).split(';')[0];
    assert.is((await request(httpPort, shared.host, { path: '/hello', headers: { cookie } })).status, 200);
    const get = await fetched;
    assert.is(await run(get), 'hello from origin\n');
  } finally {
    await shared.stop();
  }
});

it('porthole share --har FILE writes a valid HAR 1.2 of what it forwarded when it stops', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-har-'));
  const file = path.join(dir, 'session.har');
  const child = await share([String(ctx.origin.port), '--relay', ctx.relay.url, '--subdomain', 'har-cli', '--har', file, '--quiet']);
  try {
    const { host } = new URL(child.url);
    await request(ctx.relay.httpPort, host, { path: '/hello?x=1' });
    await request(ctx.relay.httpPort, host, { path: '/sha', method: 'POST', body: 'payload', headers: { 'content-type': 'text/plain' } });
    await request(ctx.relay.httpPort, host, { path: '/bytes?n=300000' });
    await child.stop('SIGTERM');
    assert.is(await child.exited, 0);
    const har = JSON.parse(fs.readFileSync(file, 'utf8')) as Har;
    assert.equal(harProblems(har), []);
    const [hello, post, bytes] = har.log.entries;
    assert.is(hello.request.url, `${child.url}/hello?x=1`);
    assert.equal(hello.request.queryString, [{ name: 'x', value: '1' }]);
    assert.is(hello.response.content.text, 'hello from origin\n');
    assert.is(post.request.postData?.text, 'payload');
    assert.is(post.response.status, 200);
    assert.is(bytes.response.bodySize, 300_000);
    assert.is(bytes.response.content.size, 300_000, 'the whole body, though 256 KiB of it were kept');
    assert.is(bytes.response.content.text?.length, 256 * 1024);
    assert.ok(bytes.response.content.text?.startsWith('porthole-porthole-'));
    assert.match(bytes.response.content.comment ?? '', /kept the first 256 KiB of this 293 KiB body \(keep more with --capture-bytes\)/);
    assert.ok(child.events().some((e) => e.event === 'har' && e.entries === 3));
    assert.ok(child.events().some((e) => e.event === 'stopped'));
    assert.equal(
      fs.readdirSync(dir).filter((name) => name !== 'session.har'),
      [],
      'written beside it first, then renamed: nothing left over',
    );
  } finally {
    await child.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('--capture-bytes sets how much of each body the HAR keeps', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-har-'));
  const file = path.join(dir, 'small.har');
  const child = await share([
    String(ctx.origin.port),
    '--relay',
    ctx.relay.url,
    '--subdomain',
    'har-small',
    '--har',
    file,
    '--capture-bytes',
    '1k',
    '--quiet',
  ]);
  try {
    await request(ctx.relay.httpPort, new URL(child.url).host, { path: '/bytes?n=5000' });
    await child.stop('SIGINT');
    assert.is(await child.exited, 0);
    const [entry] = (JSON.parse(fs.readFileSync(file, 'utf8')) as Har).log.entries;
    assert.is(entry.response.content.text?.length, 1024);
    assert.is(entry.response.content.size, 5000);
    assert.match(entry.response.content.comment ?? '', /kept the first 1\.0 KiB of this 4\.9 KiB body/);
  } finally {
    await child.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

it('porthole share --har into a folder that does not exist is refused at once', async () => {
  const child = run(['dist/cli.js', 'share', String(ctx.origin.port), '--relay', ctx.relay.url, '--har', '/nonexistent-porthole/x.har']);
  assert.is(await exitWithin(child, 10_000), 2);
  assert.match(child.err, /--har \/nonexistent-porthole\/x\.har: cannot write in \/nonexistent-porthole \(does the folder exist\?\)/);
});

it.run();
