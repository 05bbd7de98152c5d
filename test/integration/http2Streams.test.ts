/**
 * HTTP/2 streams end to end on a real TLS relay: 100 MiB each way with SHA-256, SSE as it happens,
 * per-stream flow control (a stalled stream stalls nobody else), WebSockets over HTTP/1.1 upgrades
 * and RFC 8441 extended CONNECT, and malformed requests answered with stream errors (named cases and
 * fast-check's). Uploads the visitor cuts: http2Resets.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { Relay } from '../../relay/server';
import { type Child, startOrigin, stepEvents, type Origin } from '../helpers';
import { hpackLiterals, rawHttp2 } from '../rawHttp2';
import { type Certificate, connectH2, DOMAIN, h2Request, makeCertificate, shareOverTls, tlsRelay } from '../tlsRelay';

const MiB = 1024 * 1024;

interface Context {
  certificate: Certificate;
  origin: Origin;
  relay: Relay & { httpsPort: number };
  agent: Child & { host: string };
  session: ClientHttp2Session;
}
const test = suite<Context>('HTTP/2 streams end to end', {} as Context);

test.before(async (ctx) => {
  ctx.certificate = makeCertificate();
  ctx.origin = await startOrigin();
  ctx.relay = await tlsRelay(ctx.certificate);
  ctx.agent = await shareOverTls(ctx.relay, ctx.certificate, ctx.origin.port, ['--subdomain', 'hstream']);
  ctx.session = await connectH2(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate);
});

// Whatever the before hook got to start, however far it got.
test.after(async (ctx) => {
  ctx.session?.close();
  await ctx.agent?.stop();
  await ctx.relay?.close(0);
  await ctx.origin?.close();
});

/** Reads a response stream to its end: byte count and SHA-256. */
function digest(stream: ClientHttp2Stream): Promise<{ status: number; bytes: number; sha: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let status = 0;
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    stream.on('end', () => resolve({ status, bytes, sha: hash.digest('hex') }));
    stream.on('error', reject);
  });
}

/** The SHA-256 of the origin's /bytes?n= body: 64 KiB blocks of "porthole-" repeated. */
function originBytesSha(total: number): string {
  const block = Buffer.alloc(64 * 1024, 'porthole-');
  const hash = createHash('sha256');
  for (let left = total; left > 0; left -= block.length) hash.update(left >= block.length ? block : block.subarray(0, left));
  return hash.digest('hex');
}

test('a 100 MiB download and a 100 MiB upload over HTTP/2 keep every byte (SHA-256)', async (ctx) => {
  const down = await digest(ctx.session.request({ ':path': `/bytes?n=${100 * MiB}` }));
  assert.is(down.status, 200);
  assert.is(down.bytes, 100 * MiB);
  assert.is(down.sha, originBytesSha(100 * MiB));

  const block = randomBytes(MiB);
  const sent = createHash('sha256');
  const upload = ctx.session.request({ ':method': 'POST', ':path': '/sha', 'content-type': 'application/octet-stream' });
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    upload.on('data', (d) => {
      text += d;
    });
    upload.on('end', () => resolve(text));
    upload.on('error', reject);
  });
  for (let i = 0; i < 100; i++) {
    sent.update(block);
    if (!upload.write(block)) await new Promise((resolve) => upload.once('drain', resolve));
  }
  upload.end();
  assert.equal(JSON.parse(await answer), { bytes: 100 * MiB, sha256: sent.digest('hex') });
});

test('server-sent events arrive as they happen, each before the next is sent, though the visitor accepts compression', async (ctx) => {
  const stream = ctx.session.request({ ':path': '/sse/held?id=h2', 'accept-encoding': 'gzip, deflate, br' });
  let text = '';
  const ended = new Promise<string | undefined>((resolve, reject) => {
    let encoding: string | undefined;
    stream.on('response', (headers) => {
      encoding = headers['content-encoding'] as string | undefined;
    });
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      text += d;
    });
    stream.on('end', () => resolve(encoding));
    stream.on('error', reject);
  });
  try {
    await stepEvents(ctx.origin, 'h2', () => text, 3);
    assert.is(await ended, undefined, 'event streams are not compressed');
    assert.is(text, 'data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\n');
  } finally {
    stream.close(http2.constants.NGHTTP2_CANCEL);
  }
});

test('a stalled HTTP/2 stream never stalls the others or the connection', async (ctx) => {
  const stalled = ctx.session.request({ ':path': `/bytes?n=${50 * MiB}` });
  stalled.pause();
  let stalledBytes = 0;
  await new Promise((resolve) => stalled.once('response', resolve));
  const meanwhile = await digest(ctx.session.request({ ':path': `/bytes?n=${20 * MiB}` }));
  assert.is(meanwhile.bytes, 20 * MiB, 'a 20 MiB download on the same connection finished while the other stream was stalled');
  assert.is((await h2Request(ctx.session, { ':path': '/hello' })).status, 200);
  const rest = digest(stalled);
  stalled.on('data', (d: Buffer) => {
    stalledBytes += d.length;
  });
  stalled.resume();
  assert.is((await rest).sha, originBytesSha(50 * MiB), 'and the stalled stream completes once read');
  assert.is(stalledBytes, 50 * MiB);
});

test('WebSockets: an HTTP/1.1 upgrade on the HTTPS listener, and RFC 8441 extended CONNECT over HTTP/2', async (ctx) => {
  const ws = new WebSocket(`wss://${ctx.agent.host}/ws`, {
    ca: ctx.certificate.pem,
    lookup: ((_h: string, o: { all?: boolean }, cb: (...args: unknown[]) => void) =>
      o?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as never,
  });
  const echo = await new Promise<string>((resolve, reject) => {
    ws.on('open', () => ws.send('over http/1.1'));
    ws.on('message', (m) => resolve(m.toString()));
    ws.on('error', reject);
  });
  ws.close();
  assert.is(echo, 'over http/1.1');

  assert.is(ctx.session.remoteSettings.enableConnectProtocol, true);
  const stream = ctx.session.request(
    { ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/ws', 'sec-websocket-version': '13', 'sec-websocket-protocol': 'chat' },
    { endStream: false },
  );
  const response = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
  assert.is(response[':status'], 200);
  assert.is(response['sec-websocket-protocol'], 'chat');
  assert.is(response['sec-websocket-accept'], undefined);
  const mask = randomBytes(4);
  const text = Buffer.from('over h2');
  stream.write(Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, text.map((b, i) => b ^ mask[i % 4])]));
  const frame = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
  assert.is(frame.subarray(2).toString(), 'over h2', 'an unmasked text frame echoed by the local server');
  stream.close();

  const plainConnect = await h2Request(ctx.session, { ':method': 'CONNECT', ':authority': `elsewhere.${DOMAIN}:443` }).catch(
    (e: Error) => e,
  );
  assert.ok(!(plainConnect instanceof Error) && plainConnect.status === 405, 'a plain CONNECT is refused');
});

test('malformed requests get a stream error, and the connection and the relay carry on', async (ctx) => {
  const conn = await rawHttp2(ctx.relay.httpsPort, `hstream.${DOMAIN}`, ctx.certificate.pem);
  const base: [string, string][] = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', ctx.agent.host],
    [':path', '/hello'],
  ];
  try {
    const malformed: Record<string, [string, string][]> = {
      'an upper-case field name': [...base, ['X-Upper', 'a']],
      'a connection-specific field': [...base, ['connection', 'keep-alive']],
      'TE other than trailers': [...base, ['te', 'gzip']],
      'no :path': base.filter(([n]) => n !== ':path'),
      'a pseudo-header after a regular field': [...base.slice(0, 3), ['x-a', 'b'], base[3]],
      'two :path fields': [...base, [':path', '/other']],
      'an unknown pseudo-header': [...base, [':nonsense', 'x']],
    };
    for (const [what, fields] of Object.entries(malformed)) {
      const outcome = await conn.send(hpackLiterals(fields));
      assert.is(outcome.kind, 'reset', `${what}: ${JSON.stringify(outcome)}`);
    }
    assert.is((await conn.send(hpackLiterals(base))).kind, 'response', 'the same connection still serves a valid request');
    // nghttp2 drops a field whose value holds NUL, CR or LF (rather than resetting): it never reaches the local server.
    const seen = ctx.origin.seen.length;
    const withBadValues = [...base, ['x-lf', 'b\nc'], ['x-cr', 'b\rc'], ['x-nul', 'b\u0000c']] as [string, string][];
    assert.is((await conn.send(hpackLiterals(withBadValues))).kind, 'response');
    assert.is(ctx.origin.seen.length, seen + 1);
    const headers = ctx.origin.seen[seen];
    assert.equal([headers['x-lf'], headers['x-cr'], headers['x-nul']], [undefined, undefined, undefined]);
  } finally {
    conn.close();
  }
});

test('whatever header bytes a visitor sends, each request gets an answer or a reset, and the relay lives (fast-check)', async (ctx) => {
  const bytes = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a));
  const name = fc.oneof(
    bytes,
    fc.constantFrom(':method', ':path', ':scheme', ':authority', ':protocol', 'host', 'cookie', 'content-length', 'te'),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(name, bytes), { maxLength: 6 }), fc.boolean(), async (extra, withBase) => {
      const conn = await rawHttp2(ctx.relay.httpsPort, `hstream.${DOMAIN}`, ctx.certificate.pem);
      try {
        const fields: [Buffer | string, Buffer | string][] = withBase
          ? [[':method', 'GET'], [':scheme', 'https'], [':authority', ctx.agent.host], [':path', '/hello'], ...extra]
          : extra;
        const outcome = await conn.send(hpackLiterals(fields));
        return outcome.kind !== 'closed';
      } finally {
        conn.close();
      }
    }),
    { numRuns: 60 },
  );
  assert.is((await h2Request(ctx.session, { ':path': '/hello' })).status, 200, 'the relay still serves its visitors');
});

test.run();
