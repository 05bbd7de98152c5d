/**
 * An HTTP/2 upload the visitor cuts never reaches the local server, or the agent, as a whole body:
 * a reset mid-upload reaches the local server as an abort, and the tunnel stream ends (END) only when
 * the visitor ended its body with END_STREAM, whatever its RST_STREAM says and however far the response got.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { encodeResponseHead } from '../../core/heads';
import {
  CONNECT_PATH,
  DATA_FRAME_BYTES,
  FrameType,
  PROTOCOL_VERSION,
  decodeFrames,
  decodeJson,
  encodeFrame,
  encodeJson,
  type Welcome,
} from '../../core/protocol';
import type { Relay } from '../../relay/server';
import { disposeAfterEach, waitFor } from '../helpers';
import { hpackLiterals, type RawConnection, rawHttp2 } from '../rawHttp2';
import { type Certificate, DOMAIN, makeCertificate, shareOverTls, tlsRelay } from '../tlsRelay';

/** RST_STREAM's code for "no error" (RFC 9113 §7): what a client may send to stop a stream it is done with. */
const NO_ERROR = 0;

const ctx = {} as { certificate: Certificate; relay: Relay & { httpsPort: number } };
const test = suite('HTTP/2 uploads the visitor cuts', ctx);
const later = disposeAfterEach(test);

test.before(async () => {
  ctx.certificate = makeCertificate();
  ctx.relay = await tlsRelay(ctx.certificate);
});

test.after(async () => {
  await ctx.relay?.close(0);
});

/** A PUT's HEADERS without END_STREAM, for `authority`. */
function putHeaders(authority: string): Buffer {
  return hpackLiterals([
    [':method', 'PUT'],
    [':scheme', 'https'],
    [':authority', authority],
    [':path', '/file'],
  ]);
}

/**
 * A hand-made agent registering `name`: it reports how the relay ends each stream it opens (END or
 * RESET), which a real agent turns into a complete or an aborted local request.
 */
async function frameAgent(name: string) {
  const ws = later(
    new WebSocket(`wss://${DOMAIN}:${ctx.relay.httpsPort}${CONNECT_PATH}`, {
      ca: ctx.certificate.pem,
      lookup: ((_h: string, o: { all?: boolean }, cb: (...args: unknown[]) => void) =>
        o?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as never,
    }),
    (w) => w.terminate(),
  );
  const opened: number[] = [];
  const endings = new Map<number, 'end' | 'reset'>();
  let welcome: Welcome | undefined;
  ws.on('message', (data: Buffer) => {
    for (const frame of decodeFrames(data)) {
      if (frame.type === FrameType.Welcome) welcome = decodeJson<Welcome>(frame, 'WELCOME');
      else if (frame.type === FrameType.Open) opened.push(frame.stream);
      else if (frame.type === FrameType.End && !endings.has(frame.stream)) endings.set(frame.stream, 'end');
      else if (frame.type === FrameType.Reset && !endings.has(frame.stream)) endings.set(frame.stream, 'reset');
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(encodeJson(FrameType.Hello, 0, { protocol: PROTOCOL_VERSION, agent: 'frames', subdomain: name }));
  const { url } = await waitFor(() => welcome, 15_000, 'WELCOME');
  return {
    host: new URL(url).host,
    /** The tunnel stream of the next request to arrive. */
    next: (count: number) => waitFor(() => opened[count], 15_000, 'OPEN'),
    /** How the relay ended the request body of `stream`: END or RESET. */
    ending: (stream: number) => waitFor(() => endings.get(stream), 15_000, `END or RESET on stream ${stream}`),
    /**
     * A whole response in one message (RESPONSE, `bytes` of body, END), so that the relay has ended
     * its side of the visitor's stream by the time the visitor sees the HEADERS.
     */
    respond(stream: number, bytes: number) {
      const frames = [encodeResponseHead(stream, { status: 200, statusText: 'OK', headers: ['Content-Length', String(bytes)] })];
      for (let sent = 0; sent < bytes; sent += DATA_FRAME_BYTES)
        frames.push(encodeFrame(FrameType.Data, stream, Buffer.alloc(Math.min(DATA_FRAME_BYTES, bytes - sent))));
      frames.push(encodeFrame(FrameType.End, stream));
      ws.send(Buffer.concat(frames));
    },
  };
}

test('a visitor that resets its upload stream makes the local server see an aborted request, not a short body', async () => {
  const seen: ('end' | 'aborted')[] = [];
  const origin = later(
    http.createServer((req, res) => {
      req.on('end', () => {
        seen.push('end');
        res.end('complete');
      });
      req.on('aborted', () => seen.push('aborted'));
      req.resume();
    }),
    (server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  );
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const agent = later(
    await shareOverTls(ctx.relay, ctx.certificate, (origin.address() as AddressInfo).port, ['--subdomain', 'hreset']),
    (a) => a.stop(),
  );
  // Node's own client sends END_STREAM before its RST_STREAM, which completes the body: write frames by hand.
  const conn = later(await rawHttp2(ctx.relay.httpsPort, `hreset.${DOMAIN}`, ctx.certificate.pem), (c: RawConnection) => c.close());
  const upload = conn.open(putHeaders(agent.host));
  conn.data(upload, Buffer.alloc(16 * 1024));
  conn.data(upload, Buffer.alloc(16 * 1024));
  await new Promise((resolve) => setTimeout(resolve, 200));
  conn.cancel(upload);
  await waitFor(() => seen.length > 0, 15_000, 'the local server to hear of the upload');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(seen, ['aborted']);
});

test('RST_STREAM(NO_ERROR) once the response has ended still cuts the upload: the agent gets RESET, where END_STREAM gets END', async () => {
  const agent = await frameAgent('hnoerror');
  const conn = later(await rawHttp2(ctx.relay.httpsPort, `hnoerror.${DOMAIN}`, ctx.certificate.pem), (c: RawConnection) => c.close());
  // 128 KiB of response against the visitor's 64 KiB window (it sends no WINDOW_UPDATE): the relay
  // has ended the response but cannot finish sending it, so Node says nothing of 'aborted' on a reset.
  const outcomes: Record<string, 'end' | 'reset'> = {};
  for (const [label, finish] of [
    ['RST_STREAM(NO_ERROR)', (c: RawConnection, s: number) => c.cancel(s, NO_ERROR)],
    ['END_STREAM', (c: RawConnection, s: number) => c.data(s, Buffer.alloc(16), true)],
  ] as const) {
    const upload = conn.open(putHeaders(agent.host));
    conn.data(upload, Buffer.alloc(16 * 1024));
    const stream = await agent.next(Object.keys(outcomes).length);
    agent.respond(stream, 128 * 1024);
    assert.equal(await conn.answer(upload, 15_000), { kind: 'response' }, label);
    finish(conn, upload);
    outcomes[label] = await agent.ending(stream);
  }
  assert.equal(outcomes, { 'RST_STREAM(NO_ERROR)': 'reset', END_STREAM: 'end' });
});

test.run();
