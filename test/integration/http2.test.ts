/**
 * HTTP/2 for visitors on a real TLS relay (a certificate made with openssl), with `porthole share`
 * processes as agents and a real local server that keeps getting HTTP/1.1: ALPN, the RFC 9113 head
 * translations, the relay's pages, Basic auth, header limits, HTTP/1.1 on the same port, --no-http2.
 */
import { execFile } from 'node:child_process';
import tls from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Relay } from '../../relay/server';
import { agent, type Child, freePort, relay, request, startOrigin, waitFor, type Origin } from '../helpers';
import { type Certificate, connectH2, DOMAIN, curl, h2Request, http1Get, makeCertificate, shareOverTls, tlsRelay } from '../tlsRelay';

interface Context {
  certificate: Certificate;
  origin: Origin;
  relay: Relay & { httpsPort: number };
  agent: Child & { host: string };
  children: Child[];
}
const test = suite<Context>('HTTP/2 for visitors', { children: [] } as unknown as Context);

test.before(async (ctx) => {
  ctx.certificate = makeCertificate();
  ctx.origin = await startOrigin();
  ctx.relay = await tlsRelay(ctx.certificate);
  ctx.agent = await shareOverTls(ctx.relay, ctx.certificate, ctx.origin.port, ['--subdomain', 'hapi']);
  ctx.children.push(ctx.agent);
});

test.after(async (ctx) => {
  for (const child of ctx.children) await child.stop();
  await ctx.relay.close(0);
  await ctx.origin.close();
});

test('curl and Node’s http2 client get HTTP/2 by ALPN; an HTTP/1.1 client on the same port gets HTTP/1.1', async (ctx) => {
  const viaCurl = await curl(ctx.relay.httpsPort, ctx.certificate, [
    '--http2',
    '-o',
    '/dev/null',
    '-w',
    '%{http_version}',
    `https://${ctx.agent.host}/hello`,
  ]);
  assert.is(viaCurl.stdout.toString(), '2', viaCurl.stderr);
  const session = await connectH2(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate);
  try {
    assert.is(session.alpnProtocol, 'h2');
    const reply = await h2Request(session, { ':path': '/hello' });
    assert.is(reply.status, 200);
    assert.is(reply.body.toString(), 'hello from origin\n');
  } finally {
    session.close();
  }
  const { version } = await http1Get(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate, '/hello');
  assert.is(version, '1.1');
});

test('the local server gets HTTP/1.1: Host from :authority, cookie crumbs joined, X-Forwarded-*, no pseudo-headers', async (ctx) => {
  const session = await connectH2(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate);
  try {
    const reply = await h2Request(session, { ':path': '/headers', cookie: ['a=1', 'b=2', 'c=3'], te: 'trailers', 'x-custom': 'kept' });
    assert.is(reply.status, 200);
    const seen = JSON.parse(reply.body.toString()) as Record<string, string>;
    assert.is(seen.cookie, 'a=1; b=2; c=3');
    assert.is(seen['x-custom'], 'kept');
    assert.is(seen['x-forwarded-proto'], 'https');
    assert.is(seen['x-forwarded-for'], '127.0.0.1');
    assert.is(seen.te, undefined);
    assert.is(seen.host, `localhost:${ctx.origin.port}`, 'Host rewritten to the local target, as on HTTP/1.1');
    assert.not.ok(Object.keys(seen).some((name) => name.startsWith(':')));
  } finally {
    session.close();
  }
  const preserving = await shareOverTls(ctx.relay, ctx.certificate, ctx.origin.port, ['--subdomain', 'hkeep', '--host-header', 'preserve']);
  ctx.children.push(preserving);
  const kept = await connectH2(ctx.relay.httpsPort, preserving.host, ctx.certificate);
  try {
    const seen = JSON.parse((await h2Request(kept, { ':path': '/headers' })).body.toString()) as Record<string, string>;
    assert.is(seen.host, preserving.host, 'with --host-header preserve, Host is the :authority the browser sent');
    assert.is(seen['x-forwarded-host'], preserving.host);
  } finally {
    kept.close();
  }
});

test('HEAD, 204, 304 and several Set-Cookie come back as the local server sent them', async (ctx) => {
  const session = await connectH2(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate);
  try {
    const head = await h2Request(session, { ':method': 'HEAD', ':path': '/hello' });
    assert.is(head.status, 200);
    assert.is(head.headers['content-length'], '18');
    assert.is(head.body.length, 0);
    assert.is((await h2Request(session, { ':path': '/nocontent' })).status, 204);
    const notModified = await h2Request(session, { ':path': '/etag', 'if-none-match': '"v1"' });
    assert.is(notModified.status, 304);
    assert.is(notModified.headers.etag, '"v1"');
    const cookies = await h2Request(session, { ':path': '/cookies' });
    assert.equal(cookies.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/', 'c=3; HttpOnly']);
  } finally {
    session.close();
  }
});

test('bodies stream both ways at once: each chunk comes back before the next is sent', async (ctx) => {
  const session = await connectH2(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate);
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/echo', 'content-type': 'text/plain' });
    const received: string[] = [];
    stream.on('data', (d: Buffer) => received.push(d.toString()));
    for (const part of ['one', 'two', 'three']) {
      stream.write(part);
      await waitFor(() => received.join('').endsWith(part), 15_000, `the echo of "${part}" before the body ends`);
    }
    stream.end();
    await new Promise((resolve) => stream.on('end', resolve));
    assert.is(received.join(''), 'onetwothree');
  } finally {
    session.close();
  }
});

test('the relay’s pages over HTTP/2: unknown tunnel 404, nothing listening 502, agent gone 503', async (ctx) => {
  const session = await connectH2(ctx.relay.httpsPort, `nobody.${DOMAIN}:${ctx.relay.httpsPort}`, ctx.certificate);
  const unknown = await h2Request(session, { ':path': '/' });
  session.close();
  assert.is(unknown.status, 404);
  assert.match(unknown.body.toString(), 'No tunnel named');

  const closedPort = await freePort();
  const dead = await shareOverTls(ctx.relay, ctx.certificate, closedPort, ['--subdomain', 'hdead']);
  ctx.children.push(dead);
  const deadSession = await connectH2(ctx.relay.httpsPort, dead.host, ctx.certificate);
  const unreachable = await h2Request(deadSession, { ':path': '/' });
  assert.is(unreachable.status, 502);
  assert.match(unreachable.body.toString(), 'Nothing is listening');
  await dead.stop('SIGKILL');
  await waitFor(() => !ctx.relay.registry.lookup('hdead')?.tunnel, 15_000, 'the relay to see the agent gone');
  const reconnecting = await h2Request(deadSession, { ':path': '/' });
  deadSession.close();
  assert.is(reconnecting.status, 503);
  assert.is(reconnecting.headers['retry-after'], '2');
});

test('Basic auth applies to HTTP/2 visitors, and the password never reaches the local server', async (ctx) => {
  const locked = await shareOverTls(ctx.relay, ctx.certificate, ctx.origin.port, ['--subdomain', 'hlocked', '--auth', 'ann:s3cret']);
  ctx.children.push(locked);
  const session = await connectH2(ctx.relay.httpsPort, locked.host, ctx.certificate);
  try {
    const refused = await h2Request(session, { ':path': '/headers' });
    assert.is(refused.status, 401);
    assert.match(String(refused.headers['www-authenticate']), 'Basic realm="hlocked"');
    const allowed = await h2Request(session, {
      ':path': '/headers',
      authorization: `Basic ${Buffer.from('ann:s3cret').toString('base64')}`,
    });
    assert.is(allowed.status, 200);
    assert.is(JSON.parse(allowed.body.toString()).authorization, undefined);
  } finally {
    session.close();
  }
});

test('header limits: a large head gets the 431 page on HTTP/2 and HTTP/1.1 alike; a huge one only resets its stream', async (ctx) => {
  const session = await connectH2(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate);
  try {
    const large = await h2Request(session, { ':path': '/hello', 'x-big': 'a'.repeat(20_000) });
    assert.is(large.status, 431);
    assert.match(large.body.toString(), '--max-header-size');
    const huge = await h2Request(session, { ':path': '/hello', 'x-huge': 'a'.repeat(60_000) }).then(
      (reply) => `answered ${reply.status}`,
      (error: Error) => error.message,
    );
    assert.match(huge, /ENHANCE_YOUR_CALM/, huge);
    const after = await h2Request(session, { ':path': '/hello' });
    assert.is(after.status, 200, 'the connection still serves other streams');
  } finally {
    session.close();
  }
  const { status: viaHttp1 } = await http1Get(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate, '/hello', {
    'x-big': 'a'.repeat(20_000),
  });
  assert.is(viaHttp1, 431, 'Node’s HTTP/1.1 code under the HTTP/2 server still reads --max-header-size from the server');
});

test('a Host that names another host than :authority is refused, never routed by either', async (ctx) => {
  const session = await connectH2(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate);
  try {
    const before = ctx.origin.seen.length;
    const reply = await h2Request(session, {
      ':path': '/hello',
      ':authority': ctx.agent.host,
      host: `other.${DOMAIN}:${ctx.relay.httpsPort}`,
    });
    assert.is(reply.status, 400);
    assert.is(ctx.origin.seen.length, before);
  } finally {
    session.close();
  }
});

test('plain HTTP is sent to the HTTPS port the relay bound (--https-port 0), the method and path kept', async (ctx) => {
  const { httpPort, httpsPort } = ctx.relay;
  const redirect = await request(httpPort, `hapi.${DOMAIN}:${httpPort}`, { method: 'POST', path: '/form?x=1', body: 'a=b' });
  assert.is(redirect.status, 308);
  assert.is(redirect.headers.location, `https://hapi.${DOMAIN}:${httpsPort}/form?x=1`);
  const apex = await request(httpPort, DOMAIN, { path: '/' });
  assert.is(apex.headers.location, `https://${DOMAIN}:${httpsPort}/`);
});

test('plain HTTP stays HTTP/1.1, even when curl offers h2c; --no-http2 serves HTTPS visitors HTTP/1.1 only', async (ctx) => {
  const plain = await relay();
  const shared = await agent(plain.url, ctx.origin.port, { subdomain: 'plain' });
  try {
    const version = await new Promise<string>((resolve) =>
      execFile(
        'curl',
        [
          '-s',
          '--http2',
          '-o',
          '/dev/null',
          '-w',
          '%{http_version}',
          '--connect-to',
          `::127.0.0.1:${plain.httpPort}`,
          `http://${shared.host}/hello`,
        ],
        (_error, stdout) => resolve(String(stdout)),
      ),
    );
    assert.is(version, '1.1');
  } finally {
    await shared.stop();
    await plain.close(0);
  }

  const http1Only = await tlsRelay(ctx.certificate, { http2: false });
  const only1 = await shareOverTls(http1Only, ctx.certificate, ctx.origin.port, ['--subdomain', 'honly1']);
  try {
    const viaCurl = await curl(http1Only.httpsPort, ctx.certificate, [
      '--http2',
      '-o',
      '/dev/null',
      '-w',
      '%{http_version}',
      `https://${only1.host}/hello`,
    ]);
    assert.is(viaCurl.stdout.toString(), '1.1');
  } finally {
    await only1.stop();
    await http1Only.close(0);
  }
});

test('--keep-alive-timeout on HTTP/2: a session without streams gets GOAWAY; a slow answer keeps its session', async (ctx) => {
  const quick = await tlsRelay(ctx.certificate, { keepAliveTimeoutMs: 500 });
  const agent = await shareOverTls(quick, ctx.certificate, ctx.origin.port, ['--subdomain', 'hidle']);
  try {
    const idle = await connectH2(quick.httpsPort, agent.host, ctx.certificate);
    const goaway = new Promise<number>((resolve) => idle.once('goaway', resolve));
    const idleStarted = Date.now();
    assert.is(await goaway, 0, 'GOAWAY with NO_ERROR');
    assert.ok(Date.now() - idleStarted >= 400, 'not before the timeout');
    idle.destroy();

    const busy = await connectH2(quick.httpsPort, agent.host, ctx.certificate);
    let wentAway = false;
    busy.once('goaway', () => {
      wentAway = true;
    });
    const slow = await h2Request(busy, { ':path': '/slow?n=1500' });
    assert.is(slow.body.toString(), 'slow done');
    assert.not.ok(wentAway, 'a stream open for three times the timeout keeps the session');
    busy.close();
  } finally {
    await agent.stop();
    await quick.close(0);
  }
});

test('an HTTP/1.1 client on the HTTP/2 listener still gets a 400 for a malformed request', async (ctx) => {
  const status = await new Promise<string>((resolve, reject) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port: ctx.relay.httpsPort, servername: `hapi.${DOMAIN}`, ca: ctx.certificate.pem, ALPNProtocols: ['http/1.1'] },
      () => socket.write('GARBAGE / HTTP/1.1\r\nHost: hapi.localhost\r\n\r\n'),
    );
    let text = '';
    socket.on('data', (d) => {
      text += d;
    });
    socket.on('end', () => resolve(text.split('\r\n')[0]));
    socket.on('error', reject);
  });
  assert.is(status, 'HTTP/1.1 400 Bad Request');
});

test.run();
