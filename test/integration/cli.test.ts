/** `porthole share` as a person runs it: a real process, its output, its exit codes. */
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { selfSignedCertificate } from '../selfSigned.cjs';
import { type Child, exitWithin, originSuite, relay as startRelay, request, run as start, share as startShare, waitFor } from '../helpers';

const { it, ctx, later } = originSuite('porthole share');
// What each test starts is stopped after it, passed or failed.
const relay = async () => later(await startRelay(), (r) => r.close(0));
const share = async (args: string[]) => later(await startShare(args), (c) => c.stop());
const run = (args: string[]) => later(start(args), (c: Child) => c.stop());

it('without --relay it starts an embedded relay and prints the URL, then one line per request', async () => {
  const child = run(['dist/cli.js', 'share', String(ctx.origin.port), '--subdomain', 'solo']);
  try {
    const url = await waitFor(() => /(http:\/\/solo\.localhost:\d+)/.exec(child.out)?.[1], 15_000, `the URL in ${child.out}${child.err}`);
    const { port, host } = new URL(url);
    assert.is((await request(Number(port), host, { path: '/hello?from=test' })).status, 200);
    const line = await waitFor(
      () => child.out.split('\n').find((l) => l.startsWith('GET') && l.includes('/hello?from=test')),
      15_000,
      'a request line',
    );
    assert.match(line, /GET\s+\/hello\?from=test\s+200\s+[\d.]+ ms\s+18 B/);
  } finally {
    await child.stop('SIGINT');
  }
  assert.is(await exitWithin(child, 30_000), 0, 'Ctrl+C is a clean stop');
});

it('--json prints a ready event and one request event per request', async () => {
  const r = await relay();
  const child = await share([String(ctx.origin.port), '--relay', r.url, '--subdomain', 'scripted']);
  try {
    assert.is(child.url, `http://scripted.localhost:${r.httpPort}`);
    await request(r.httpPort, new URL(child.url).host, { path: '/echo', method: 'POST', body: 'ping' });
    const event = await waitFor(() => child.events().find((e) => e.event === 'request'), 15_000, 'a request event');
    assert.is(event.method, 'POST');
    assert.is(event.path, '/echo');
    assert.is(event.status, 200);
    assert.is(event.requestBytes, 4);
    assert.is(event.responseBytes, 4);
    assert.type(event.durationMs, 'number');
  } finally {
    await child.stop();
    await r.close(0);
  }
});

it('--host-header preserve passes the public Host to the local server', async () => {
  const r = await relay();
  const child = await share([String(ctx.origin.port), '--relay', r.url, '--subdomain', 'keephost', '--host-header', 'preserve']);
  try {
    const host = new URL(child.url).host;
    const seen = JSON.parse((await request(r.httpPort, host, { path: '/headers' })).body.toString());
    assert.is(seen.host, host);
  } finally {
    await child.stop();
    await r.close(0);
  }
});

it('an https:// local target with a self-signed certificate needs --insecure, and says so', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-selfsigned-'));
  selfSignedCertificate({ cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem'), names: ['localhost', '127.0.0.1'] });
  const server = https.createServer(
    { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) },
    (_req, res) => res.end('secure origin'),
  );
  later(server, (s) => s.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const target = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await relay();
  const strict = await share([target, '--relay', r.url, '--subdomain', 'strict']);
  const lenient = await share([target, '--relay', r.url, '--subdomain', 'lenient', '--insecure']);
  try {
    const refused = await request(r.httpPort, new URL(strict.url).host);
    assert.is(refused.status, 502);
    assert.match(refused.body.toString(), /not trusted .*--insecure/);
    const served = await request(r.httpPort, new URL(lenient.url).host);
    assert.is(served.status, 200);
    assert.is(served.body.toString(), 'secure origin');
  } finally {
    await strict.stop();
    await lenient.stop();
    await r.close(0);
    server.close();
  }
});

it('pointed at http:// on a relay that serves HTTPS only, it says which URL to use', async () => {
  const redirecting = http.createServer((req, res) => {
    res.writeHead(308, { location: `https://relay.example:8443${req.url}` });
    res.end();
  });
  later(redirecting, (s) => s.close());
  await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
  const child = run([
    'dist/cli.js',
    'share',
    String(ctx.origin.port),
    '--relay',
    `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`,
  ]);
  try {
    assert.is(await exitWithin(child, 10_000), 1, 'at once: trying again cannot help');
    assert.match(child.err, /serves HTTPS only: use https:\/\/relay\.example:8443 as the relay URL/);
  } finally {
    await child.stop();
    redirecting.close();
  }
});

it('exit codes: a mistake on the command line exits 2 with one line and a hint; --help and --version exit 0', async () => {
  const hint = /\nRun "porthole share --help" for the options\.\n$/;
  const cases: [string[], RegExp][] = [
    [['share'], /^porthole: Give exactly one port or URL to share, e\.g\. porthole share 5173\./],
    [['share', '5173', '--host-header', 'sideways'], /^porthole: --host-header must be rewrite or preserve/],
    [['share', '5173', '--bogus'], /^porthole: Unknown option '--bogus'/],
    [['frobnicate'], /^porthole: Unknown command "frobnicate"/],
    [['share', 'ftp://x'], /^porthole: “ftp:\/\/x” is not a port or URL\. Type a port \(5173\)/],
    [['share', '5173', '--relay', 'ftp://relay'], /^porthole: --relay: The relay URL must start with http:\/\/, https:\/\//],
    [['share', '5173', '--auth', 'nopassword'], /^porthole: --auth takes USER:PASSWORD/],
    [['share', '5173', '--capture-bytes', '1m'], /^porthole: --capture-bytes sets how much of each body --har keeps: add --har FILE\./],
    [['share', '5173', '--har', 'x.har', '--capture-bytes', '11m'], /^porthole: --capture-bytes takes a size from 0 to 10 MiB/],
  ];
  for (const [args, message] of cases) {
    const child = run(['dist/cli.js', ...args]);
    assert.is(await exitWithin(child, 30_000), 2, args.join(' '));
    assert.match(child.err, message, args.join(' '));
    assert.match(child.err, hint, args.join(' '));
    assert.not.match(child.err, /Usage:/, `${args.join(' ')}: one line, not the whole usage`);
  }
  const bare = run(['dist/cli.js']);
  assert.is(await exitWithin(bare, 30_000), 2, 'porthole alone is an incomplete command');
  assert.match(bare.err, /^Usage: porthole share <port\|url> \[options\]/);
  assert.is(bare.out, '');
  for (const args of [['--help'], ['share', '--help'], ['-h']]) {
    const help = run(['dist/cli.js', ...args]);
    assert.is(await exitWithin(help, 30_000), 0, args.join(' '));
    assert.match(help.out, /^Usage: porthole share[\s\S]*--capture-bytes N[\s\S]*Exit status: 0 after Ctrl\+C/);
  }
  for (const args of [['--version'], ['share', '--version']]) {
    const version = run(['dist/cli.js', ...args]);
    assert.is(await exitWithin(version, 30_000), 0, args.join(' '));
    assert.match(version.out, /^\d+\.\d+\.\d+\n$/);
  }
});

it('a target URL with a path shares the whole server and prints the public URL of that page (and the private link to it)', async () => {
  const r = await relay();
  const child = await share([`http://localhost:${ctx.origin.port}/hello?from=cli`, '--relay', r.url, '--subdomain', 'deep', '--private']);
  const text = run(['dist/cli.js', 'share', `http://127.0.0.1:${ctx.origin.port}/app/`, '--relay', r.url, '--subdomain', 'deeptext']);
  try {
    const ready = child.events().find((e) => e.event === 'ready') ?? {};
    assert.is(ready.url, `http://deep.localhost:${r.httpPort}`, 'url stays the origin that is shared');
    assert.is(ready.open, `http://deep.localhost:${r.httpPort}/hello?from=cli`);
    const link = new URL(String(ready.link));
    assert.is(link.pathname, '/hello');
    assert.is(link.searchParams.get('from'), 'cli');
    assert.match(link.searchParams.get('porthole_key') ?? '', /^[\w-]{32}$/);
    const opened = await request(r.httpPort, link.host, { path: link.pathname + link.search });
    assert.is(opened.status, 303, 'the link lets the browser in');
    assert.is(opened.headers.location, `${ready.url}/hello?from=cli`, 'and lands on the page typed');
    const printed = await waitFor(
      () => /Porthole \S+ {2}(\S+) {2}→ {2}(\S+)\n(.*)\n/.exec(text.out),
      15_000,
      `the ready lines in ${text.out}${text.err}`,
    );
    assert.is(printed[1], `http://deeptext.localhost:${r.httpPort}/app/`);
    assert.is(printed[2], `http://127.0.0.1:${ctx.origin.port}/app/`);
    assert.is(printed[3], `(the whole server at http://127.0.0.1:${ctx.origin.port} is shared; the URL above opens /app/)`);
    assert.is((await request(r.httpPort, `deeptext.localhost:${r.httpPort}`, { path: '/hello' })).status, 200, 'other paths too');
  } finally {
    await Promise.all([child.stop(), text.stop()]);
    await r.close(0);
  }
});

it('access flags: --private prints the link (and "link" in --json), --allow-ip and --public-path reach the relay', async () => {
  const r = await relay();
  const json = await share([String(ctx.origin.port), '--relay', r.url, '--subdomain', 'invited', '--private', '--public-path', '/echo']);
  const text = run([
    'dist/cli.js',
    'share',
    String(ctx.origin.port),
    '--relay',
    r.url,
    '--subdomain',
    'listed',
    '--allow-ip',
    '10.0.0.0/8',
    '--allow-ip',
    '::1',
    '--private',
  ]);
  try {
    const ready = json.events().find((e) => e.event === 'ready') ?? {};
    const link = new URL(String(ready.link));
    assert.is(link.origin, new URL(json.url).origin);
    assert.match(link.searchParams.get('porthole_key') ?? '', /^[\w-]{32}$/);
    assert.is((await request(r.httpPort, link.host, { path: '/hello' })).status, 403);
    assert.is((await request(r.httpPort, link.host, { path: '/echo', method: 'POST', body: 'hook' })).status, 200, 'the open path');
    assert.is((await request(r.httpPort, link.host, { path: link.pathname + link.search })).status, 303);
    const printed = await waitFor(
      () => /Private link \(give it to the people you invite\): (\S+)/.exec(text.out)?.[1],
      15_000,
      `the link in ${text.out}${text.err}`,
    );
    const listed = new URL(printed);
    assert.is(listed.host, `listed.localhost:${r.httpPort}`);
    const refused = await request(r.httpPort, listed.host, { path: listed.pathname + listed.search });
    assert.is(refused.status, 403, '127.0.0.1 is not listed: the link alone does not open it');
    assert.match(refused.body.toString(), /IP allow-list/);
  } finally {
    await Promise.all([json.stop(), text.stop()]);
    await r.close(0);
  }
});

it('access flags that cannot work exit with a sentence before connecting', async () => {
  const cases: [string[], number, RegExp][] = [
    [['--allow-ip', '10.0.0.0/99'], 2, /--allow-ip "10\.0\.0\.0\/99" has an invalid prefix length/],
    [['--allow-ip', '10.1.0.0/8'], 2, /did you mean 10\.0\.0\.0\/8/],
    [['--private', '--public-path', 'webhooks'], 2, /Open path "webhooks" must start with "\/"/],
    [['--public-path', '/webhooks/*'], 2, /--public-path opens paths of a protected share: add --private, --allow-ip or --auth/],
  ];
  for (const [args, code, message] of cases) {
    const child = run(['dist/cli.js', 'share', '5173', '--relay', 'http://127.0.0.1:9', ...args]);
    assert.is(await exitWithin(child, 30_000), code, args.join(' '));
    assert.match(child.err, message, args.join(' '));
  }
});

it.run();
