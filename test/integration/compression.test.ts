/**
 * Compression at the agent, on a real TLS relay with `porthole share` processes: each rule of
 * extension/agent/compression.ts as a visitor meets it, the cases that must not be compressed,
 * flushing as a response streams, back-pressure with a stalled visitor, the sizes in the request
 * log, and --no-compress.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Relay } from '../../relay/server';
import { type Child, waitFor } from '../helpers';
import { type Certificate, connectH2, h2Request, http1Get, makeCertificate, shareOverTls, tlsRelay } from '../tlsRelay';

const MiB = 1024 * 1024;
const JS = Buffer.from(
  Array.from({ length: 2000 }, (_, i) => `export function component${i}(props) { return h('div', { id: ${i} }); }\n`).join(''),
);
const PNG = randomBytes(64 * 1024);
const GZIPPED = zlib.gzipSync(JS);

interface Context {
  certificate: Certificate;
  origin: http.Server;
  relay: Relay & { httpsPort: number };
  agent: Child & { host: string };
  session: ClientHttp2Session;
  /** Resolves the gate /stream waits at between its two parts. */
  release?: () => void;
  /** Bytes /endless has written so far. */
  endlessWritten: number;
}
const test = suite<Context>('compression at the agent', { endlessWritten: 0 } as Context);

function originHandler(ctx: Context) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const send = (status: number, headers: http.OutgoingHttpHeaders, body?: Buffer | string) => {
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    switch (new URL(req.url ?? '/', 'http://o').pathname) {
      case '/app.js':
        return send(200, { 'content-type': 'text/javascript; charset=utf-8', 'content-length': JS.length, etag: '"v1"' }, JS);
      case '/weak-etag.js':
        return send(200, { 'content-type': 'application/javascript', etag: 'W/"v2"', vary: 'Origin' }, JS);
      case '/unknown-length.json':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(JS.subarray(0, 10_000));
        return res.end(JS.subarray(10_000));
      case '/small.css':
        return send(200, { 'content-type': 'text/css', 'content-length': 500 }, Buffer.alloc(500, 'a'));
      case '/image.png':
        return send(200, { 'content-type': 'image/png', 'content-length': PNG.length }, PNG);
      case '/events':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return res.end(`data: ${'x'.repeat(4000)}\n\n`);
      case '/range.js':
        return send(
          206,
          { 'content-type': 'text/javascript', 'content-range': `bytes 0-1999/${JS.length}`, 'content-length': 2000 },
          JS.subarray(0, 2000),
        );
      case '/no-transform.js':
        return send(200, { 'content-type': 'text/javascript', 'cache-control': 'public, no-transform' }, JS);
      case '/already.js':
        return send(200, { 'content-type': 'text/javascript', 'content-encoding': 'gzip', 'content-length': GZIPPED.length }, GZIPPED);
      case '/nothing':
        return send(204, {});
      case '/not-modified.js':
        return send(304, { etag: '"v1"', 'content-type': 'text/javascript' });
      case '/stream.html':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write(`<p>first part</p>${' '.repeat(2000)}`);
        return void new Promise<void>((resolve) => {
          ctx.release = resolve;
        }).then(() => res.end('<p>second part</p>'));
      case '/endless.txt': {
        // Incompressible text (base64 of random bytes), written as fast as back-pressure allows.
        const block = Buffer.from(randomBytes(48 * 1024).toString('base64'));
        res.writeHead(200, { 'content-type': 'text/plain' });
        const pump = () => {
          while (ctx.endlessWritten < 200 * MiB) {
            ctx.endlessWritten += block.length;
            if (!res.write(block)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      default:
        return send(404, { 'content-type': 'text/plain' }, 'no such path');
    }
  };
}

test.before(async (ctx) => {
  ctx.certificate = makeCertificate();
  ctx.origin = http.createServer(originHandler(ctx));
  await new Promise<void>((resolve) => ctx.origin.listen(0, '127.0.0.1', resolve));
  ctx.relay = await tlsRelay(ctx.certificate);
  ctx.agent = await shareOverTls(ctx.relay, ctx.certificate, (ctx.origin.address() as AddressInfo).port, ['--subdomain', 'zip']);
  ctx.session = await connectH2(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate);
});

test.after(async (ctx) => {
  ctx.session.close();
  await ctx.agent.stop();
  await ctx.relay.close(0);
  ctx.origin.closeAllConnections();
  ctx.origin.close();
});

const get = (ctx: Context, path: string, acceptEncoding?: string, method = 'GET') =>
  h2Request(ctx.session, {
    ':method': method,
    ':path': path,
    ...(acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding }),
  });

function decode(encoding: unknown, body: Buffer): Buffer {
  if (encoding === 'br') return zlib.brotliDecompressSync(body);
  if (encoding === 'gzip') return zlib.gunzipSync(body);
  return body;
}

test('JavaScript for a browser that accepts br: br, a third of the size or less, the same bytes once decoded', async (ctx) => {
  const reply = await get(ctx, '/app.js', 'gzip, deflate, br, zstd');
  assert.is(reply.headers['content-encoding'], 'br');
  assert.ok(reply.body.length < JS.length / 3, `${reply.body.length} of ${JS.length}`);
  assert.ok(decode('br', reply.body).equals(JS));
});

test('gzip for a visitor that accepts only gzip (or x-gzip, or refuses br with q=0)', async (ctx) => {
  for (const accept of ['gzip', 'x-gzip', 'br;q=0, gzip;q=0.5']) {
    const reply = await get(ctx, '/app.js', accept);
    assert.is(reply.headers['content-encoding'], 'gzip', accept);
    assert.ok(decode('gzip', reply.body).equals(JS));
  }
  assert.is((await get(ctx, '/app.js', '*')).headers['content-encoding'], 'br', '* stands for br');
});

test('nothing is compressed for a visitor that does not accept it, but the answer still varies by Accept-Encoding', async (ctx) => {
  for (const accept of [undefined, 'identity', 'br;q=0, gzip;q=0', 'deflate', '*;q=0']) {
    const reply = await get(ctx, '/app.js', accept);
    assert.is(reply.headers['content-encoding'], undefined, String(accept));
    assert.ok(reply.body.equals(JS));
    assert.is(reply.headers['content-length'], String(JS.length));
    assert.is(reply.headers.vary, 'Accept-Encoding');
  }
});

test('a compressed answer: Vary: Accept-Encoding, no Content-Length, a weakened ETag; weak ETags and other Vary names kept', async (ctx) => {
  const reply = await get(ctx, '/app.js', 'br');
  assert.is(reply.headers.vary, 'Accept-Encoding');
  assert.is(reply.headers['content-length'], undefined);
  assert.is(reply.headers.etag, 'W/"v1"');
  const weak = await get(ctx, '/weak-etag.js', 'br');
  assert.is(weak.headers.etag, 'W/"v2"');
  assert.is(weak.headers.vary, 'Origin, Accept-Encoding');
  const unknown = await get(ctx, '/unknown-length.json', 'gzip');
  assert.is(unknown.headers['content-encoding'], 'gzip', 'a body of unknown length is compressed too');
  assert.ok(decode('gzip', unknown.body).equals(JS));
});

test('never compressed: small bodies, images, SSE, ranges, no-transform, already encoded, HEAD, 204, 304', async (ctx) => {
  const cases: [string, string, (reply: Awaited<ReturnType<typeof get>>) => void][] = [
    ['/small.css', 'GET', (r) => assert.is(r.body.length, 500)],
    ['/image.png', 'GET', (r) => assert.ok(r.body.equals(PNG))],
    ['/events', 'GET', (r) => assert.match(r.body.toString(), /^data: x+/)],
    ['/range.js', 'GET', (r) => assert.ok(r.body.equals(JS.subarray(0, 2000)))],
    ['/no-transform.js', 'GET', (r) => assert.ok(r.body.equals(JS))],
    ['/already.js', 'GET', (r) => assert.ok(r.body.equals(GZIPPED), 'the server’s own gzip, untouched')],
    ['/app.js', 'HEAD', (r) => assert.is(r.headers['content-length'], String(JS.length))],
    ['/nothing', 'GET', (r) => assert.is(r.status, 204)],
    ['/not-modified.js', 'GET', (r) => assert.is(r.status, 304)],
  ];
  for (const [path, method, check] of cases) {
    const reply = await get(ctx, path, 'br, gzip', method);
    assert.is(reply.headers['content-encoding'], path === '/already.js' ? 'gzip' : undefined, `${method} ${path}`);
    check(reply);
  }
});

test('a streamed page is flushed as it comes: its first part reaches the visitor while the server still writes', async (ctx) => {
  const stream = ctx.session.request({ ':path': '/stream.html', 'accept-encoding': 'br' });
  const decoder = zlib.createBrotliDecompress();
  let text = '';
  decoder.on('data', (d: Buffer) => {
    text += d;
  });
  stream.pipe(decoder);
  await waitFor(() => text.includes('first part'), 15_000, 'the first part, decoded, before the server has finished');
  assert.not.ok(text.includes('second part'));
  ctx.release?.();
  await new Promise((resolve) => decoder.on('end', resolve));
  assert.ok(text.endsWith('<p>second part</p>'));
});

test('back-pressure holds through the encoder: a stalled visitor stops the local server, and every byte arrives later', async (ctx) => {
  const stream = ctx.session.request({ ':path': '/endless.txt', 'accept-encoding': 'gzip' });
  stream.pause();
  await new Promise((resolve) => stream.once('response', resolve));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const written = ctx.endlessWritten;
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.is(ctx.endlessWritten, written, 'the local server is held back');
  assert.ok(written < 40 * MiB, `the local server wrote ${(written / MiB).toFixed(1)} MiB into a stalled download`);
  const decoder = zlib.createGunzip();
  let bytes = 0;
  const hash = createHash('sha256');
  decoder.on('data', (d: Buffer) => {
    bytes += d.length;
    hash.update(d);
  });
  stream.pipe(decoder);
  stream.resume();
  await new Promise((resolve) => decoder.on('end', resolve));
  assert.is(bytes, 200 * MiB);
});

test('the request log shows the size before and after; --no-compress sends answers as the server sent them', async (ctx) => {
  await get(ctx, '/app.js', 'br');
  const logged = await waitFor(
    () => ctx.agent.events().find((e) => e.event === 'request' && e.path === '/app.js' && e.encoding === 'br'),
    15_000,
    'the request line of a compressed answer',
  );
  assert.is(logged.responseBytes, JS.length);
  assert.ok(Number(logged.encodedBytes) > 0 && Number(logged.encodedBytes) < JS.length / 3, String(logged.encodedBytes));

  const plain = await shareOverTls(ctx.relay, ctx.certificate, (ctx.origin.address() as AddressInfo).port, [
    '--subdomain',
    'nozip',
    '--no-compress',
  ]);
  const session = await connectH2(ctx.relay.httpsPort, plain.host, ctx.certificate);
  try {
    const reply = await h2Request(session, { ':path': '/app.js', 'accept-encoding': 'br, gzip' });
    assert.is(reply.headers['content-encoding'], undefined);
    assert.is(reply.headers.vary, undefined);
    assert.ok(reply.body.equals(JS));
  } finally {
    session.close();
    await plain.stop();
  }
});

test('an HTTP/1.1 visitor gets the compressed answer chunked, since its length is unknown', async (ctx) => {
  const reply = await http1Get(ctx.relay.httpsPort, ctx.agent.host, ctx.certificate, '/app.js', { 'accept-encoding': 'gzip' });
  assert.is(reply.status, 200);
  assert.is(reply.headers['content-encoding'], 'gzip');
  assert.is(reply.headers['transfer-encoding'], 'chunked');
  assert.ok(decode('gzip', reply.body).equals(JS));
});

test.run();
