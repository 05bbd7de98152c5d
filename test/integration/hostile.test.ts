/** Whatever an agent or a client does wrong costs only its own connection or stream, never the relay. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import WebSocket from 'ws';
import { CONNECT_PATH, FrameType, MAX_FRAME_PAYLOAD, PROTOCOL_VERSION, decodeFrames, encodeFrame, encodeJson } from '../../core/protocol';
import { decodeRequestHead, encodeResponseHead } from '../../core/heads';
import { agent, disposeAfterEach, rawRequest, relay, request, sleep, startOrigin, waitFor, type Origin } from '../helpers';
import type { Relay } from '../../relay/server';

const ctx = {} as { origin: Origin; relay: Relay };
const it = suite('hostile peers', ctx);
it.before(async () => {
  ctx.origin = await startOrigin();
  ctx.relay = await relay({ maxStreamsPerTunnel: 400 });
});
it.after(async () => {
  await ctx.relay?.close(0);
  await ctx.origin?.close();
});
const later = disposeAfterEach(it);
const stopAgent = (a: { stop(): Promise<void> }) => a.stop();

/** A hand-made agent that registers `name` and answers the first OPEN with `answer(streamId)`. */
async function rogueAgent(name: string, hello: Record<string, unknown>, answer?: (ws: WebSocket, stream: number) => void) {
  const ws = later(new WebSocket(`ws://localhost:${ctx.relay.httpPort}${CONNECT_PATH}`), (w) => w.terminate());
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('message', (data: Buffer) => {
    if (data[0] === FrameType.Open) answer?.(ws, data.readUInt32BE(1));
  });
  ws.send(encodeJson(FrameType.Hello, 0, { protocol: PROTOCOL_VERSION, agent: 'rogue', subdomain: name, ...hello }));
  return { ws, closed };
}

it('frames that once crashed the relay now close only the sender, with a reason', async () => {
  const bystander = later(await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'bystander' }), stopAgent);
  // RESPONSE heads as a rogue agent could write them: LF-separated fields, latin1.
  const respond = (text: string) => (ws: WebSocket, stream: number) =>
    ws.send(encodeFrame(FrameType.Response, stream, Buffer.from(text, 'latin1')));
  const cases: [string, Record<string, unknown>, ((ws: WebSocket, stream: number) => void) | undefined, RegExp][] = [
    ['a subdomain that is not text', { subdomain: 123 }, undefined, /HELLO needs a protocol number and text/],
    ['a password that is not text', { basicAuth: 5 }, undefined, /HELLO needs/],
    ['a header value with CR/LF', {}, respond('200\nOK\nx-evil\na\r\nSet-Cookie: pwned=1\nx'), /invalid header "x-evil"/],
    ['a header name with a space', {}, respond('200\n\nbad name\nx'), /invalid header "bad name"/],
    ['an empty header name', {}, respond('200\n\n\nx'), /invalid header ""/],
    ['an informational status for a request that asked for no upgrade', {}, respond('101\nSwitching'), /status 101, but no upgrade/],
    ['a status text with CR', {}, respond('200\nOK\rx: y'), /invalid status text/],
    // Its close reason is longer in UTF-8 bytes than a close frame holds: once a RangeError that ended the relay.
    ['a header name of forty ÿ', {}, respond(`200\n\n${'ÿ'.repeat(40)}\nx`), /invalid header/],
    ['a status that is not a number', {}, respond('OK\n'), /no valid status/],
    ['a header without a value', {}, respond('200\nOK\nx-lonely'), /no valid status or headers/],
    [
      'two RESPONSE frames',
      {},
      (ws, stream) => {
        respond('200\n')(ws, stream);
        respond('201\n')(ws, stream);
      },
      /a second RESPONSE/,
    ],
    [
      'a RESET with an unknown code',
      {},
      (ws, stream) => ws.send(encodeJson(FrameType.Reset, stream, { code: 'bogus', message: 1 })),
      /needs a known code/,
    ],
  ];
  for (const [label, hello, answer, reason] of cases) {
    const name = `rogue-${cases.findIndex((c) => c[0] === label)}`;
    const rogue = await rogueAgent(name, hello, answer);
    if (answer) {
      await waitFor(() => ctx.relay.registry.lookup(name)?.tunnel, 10_000, `${label}: registration`);
      request(ctx.relay.httpPort, `${name}.localhost:${ctx.relay.httpPort}`, { timeout: 30_000 }).catch(() => undefined);
    }
    const { code, reason: text } = await rogue.closed;
    assert.is(code, 1002, label);
    assert.match(text, reason, `${label}: ${text}`);
    assert.is(
      (await request(ctx.relay.httpPort, bystander.host, { path: '/hello' })).status,
      200,
      `${label}: the relay and its other tunnels live on`,
    );
  }
  assert.equal(ctx.relay.metrics.faults, { protocol: cases.length, exception: 0 }, 'each counted, as a protocol error');
});

it('a request naming two hosts is refused; an absolute-form target goes where it names; CONNECT is refused; HTTP/2.0 in a request line is HTTP/1.1', async () => {
  // Preserve: the local server sees the host the request named as its Host.
  const a = later(await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'named', hostHeader: 'preserve' }), stopAgent);
  const port = ctx.relay.httpPort;
  const statusLine = (answer: Buffer) => answer.toString('latin1').split('\r\n')[0];
  const twoHosts = await rawRequest(port, `GET /hello HTTP/1.1\r\nHost: ${a.host}\r\nHost: other.localhost\r\nConnection: close\r\n\r\n`);
  assert.is(statusLine(twoHosts), 'HTTP/1.1 400 Bad Request');
  assert.match(twoHosts.toString(), /more than one Host header/);

  const before = ctx.origin.seen.length;
  const absolute = await rawRequest(port, `GET http://${a.host}/hello?x=1 HTTP/1.1\r\nHost: nosuch.localhost\r\nConnection: close\r\n\r\n`);
  assert.is(statusLine(absolute), 'HTTP/1.1 200 OK');
  assert.match(absolute.toString(), /hello from origin/);
  assert.is(ctx.origin.seen.length, before + 1);
  assert.is(ctx.origin.seen[before].host, a.host, 'the host the request named, not its Host header');

  const userinfo = await rawRequest(port, `GET http://me@${a.host}/hello HTTP/1.1\r\nHost: ${a.host}\r\nConnection: close\r\n\r\n`);
  assert.is(statusLine(userinfo), 'HTTP/1.1 400 Bad Request');
  const connect = await rawRequest(port, `CONNECT ${a.host} HTTP/1.1\r\nHost: ${a.host}\r\n\r\n`);
  assert.is(statusLine(connect), 'HTTP/1.1 405 Method Not Allowed');
  // Found by the visitor fuzz: a request line claiming HTTP/2.0 on the HTTP/1.1 listener was taken for an HTTP/2 stream.
  const claims2 = await rawRequest(port, `GET /hello HTTP/2.0\r\nHost: ${a.host}\r\nConnection: close\r\n\r\n`);
  assert.is(statusLine(claims2), 'HTTP/1.1 200 OK');
  assert.match(claims2.toString(), /hello from origin/);
  assert.is((await request(port, a.host, { path: '/hello' })).status, 200);
});

it('a page answering an upgrade request made with HEAD has no body (it would be read as the next response)', async () => {
  const answer = await rawRequest(
    ctx.relay.httpPort,
    'HEAD / HTTP/1.1\r\nHost: nosuch.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  );
  const text = answer.toString('latin1');
  assert.match(text, /^HTTP\/1\.1 404 No such tunnel\r\n/);
  assert.match(text, /\r\ncontent-length: [1-9]\d*\r\n/i, 'the length the page would have');
  assert.ok(text.endsWith('\r\n\r\n'), `nothing after the head: ${JSON.stringify(text.slice(-80))}`);
});

it('response heads a library could refuse reach the visitor intact: latin1 values, odd cookies, a status past 599', async () => {
  await rogueAgent('odd-heads', {}, (ws, stream) => {
    ws.send(
      Buffer.concat([
        encodeResponseHead(stream, {
          status: 599,
          statusText: 'Caf\xe9',
          headers: ['X-Latin', 'caf\xe9 \xff', 'Set-Cookie', '\xff=\xff; Domain=; domain', 'Set-Cookie', 'a=1;domain=x;Domain=y; Path=/'],
        }),
        encodeFrame(FrameType.End, stream),
      ]),
    );
  });
  await waitFor(() => ctx.relay.registry.lookup('odd-heads')?.tunnel, 10_000, 'registration');
  const reply = await request(ctx.relay.httpPort, `odd-heads.localhost:${ctx.relay.httpPort}`, { timeout: 30_000 });
  assert.is(reply.status, 599);
  assert.is(reply.headers['x-latin'], 'caf\xe9 \xff');
  assert.equal(reply.headers['set-cookie'], ['\xff=\xff; domain', 'a=1; Path=/']);
  assert.equal(ctx.relay.metrics.faults.exception, 0);
});

it("a body longer or shorter than the agent's own Content-Length cuts that visitor's connection, never garbles its next response", async () => {
  const forged = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged';
  const bodies: Record<string, string> = { '/long': `hello${forged}`, '/short': 'hel' };
  const rogue = await rogueAgent('lengths', {});
  // Every OPEN: RESPONSE with Content-Length 5, the body its path names, END.
  rogue.ws.on('message', (data: Buffer) => {
    for (const frame of decodeFrames(data, MAX_FRAME_PAYLOAD)) {
      if (frame.type !== FrameType.Open) continue;
      rogue.ws.send(
        Buffer.concat([
          encodeResponseHead(frame.stream, { status: 200, statusText: 'OK', headers: ['Content-Length', '5'] }),
          encodeFrame(FrameType.Data, frame.stream, Buffer.from(bodies[decodeRequestHead(frame).path], 'latin1')),
          encodeFrame(FrameType.End, frame.stream),
        ]),
      );
    }
  });
  await waitFor(() => ctx.relay.registry.lookup('lengths')?.tunnel, 10_000, 'registration');
  const before = ctx.relay.metrics.faults.protocol;
  for (const path of Object.keys(bodies)) {
    // Keep-alive, with a second request right behind the first: it must never get the agent's extra bytes as its answer.
    const host = `lengths.localhost:${ctx.relay.httpPort}`;
    const answer = (
      await rawRequest(ctx.relay.httpPort, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\nGET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
    ).toString('latin1');
    assert.not.match(answer, /forged/, `${path}: ${JSON.stringify(answer)}`);
    assert.ok(
      (answer.match(/HTTP\/1\.1 /g)?.length ?? 0) <= 1,
      `${path}: the connection ends after the first answer: ${JSON.stringify(answer)}`,
    );
    if (answer) assert.match(answer, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n(hel|hello)?$/, `${path}: ${JSON.stringify(answer)}`);
  }
  // Node may have taken the second request of each pair before the first cut the connection: 2 to 4.
  assert.ok(ctx.relay.metrics.faults.protocol >= before + 2, "each counted as the agent's protocol error");
  assert.is(rogue.ws.readyState, WebSocket.OPEN, 'the tunnel serves on');
  assert.equal(ctx.relay.metrics.faults.exception, 0);
});

it('an agent that ends a stream without a response gives the visitor a 502 that says so', async () => {
  await rogueAgent('silent-answer', {}, (ws, stream) => ws.send(encodeFrame(FrameType.End, stream)));
  await waitFor(() => ctx.relay.registry.lookup('silent-answer')?.tunnel, 10_000, 'registration');
  const reply = await request(ctx.relay.httpPort, `silent-answer.localhost:${ctx.relay.httpPort}`, { timeout: 30_000 });
  assert.is(reply.status, 502);
  assert.match(reply.body.toString(), /without sending a response/);
});

it('a cookie scoped to the relay domain cannot reach other tunnels: Domain is dropped', async () => {
  await rogueAgent('cookie-jar', {}, (ws, stream) => {
    ws.send(
      Buffer.concat([
        encodeResponseHead(stream, {
          status: 200,
          headers: ['Set-Cookie', 'sid=1; Domain=localhost; Path=/', 'Set-Cookie', 'theme=dark; path=/; domain=.localhost; HttpOnly'],
        }),
        encodeFrame(FrameType.End, stream),
      ]),
    );
  });
  await waitFor(() => ctx.relay.registry.lookup('cookie-jar')?.tunnel, 10_000, 'registration');
  const reply = await request(ctx.relay.httpPort, `cookie-jar.localhost:${ctx.relay.httpPort}`, { timeout: 30_000 });
  assert.equal(reply.headers['set-cookie'], ['sid=1; Path=/', 'theme=dark; path=/; HttpOnly']);
});

it('visitors who give up while their request waits for a local connection do not hold one', async () => {
  const a = later(await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'queue' }), stopAgent);
  // 128 slow requests take every kept-alive connection; 64 more wait in the agent's pool and are abandoned.
  const slow = Array.from({ length: 128 }, () => request(ctx.relay.httpPort, a.host, { path: '/slow?n=1500', timeout: 15_000 }));
  await sleep(300);
  for (let i = 0; i < 64; i++) {
    const req = http.get(
      { host: '127.0.0.1', port: ctx.relay.httpPort, path: `/bytes?n=${3_000_000}`, headers: { host: a.host }, agent: false },
      (res) => res.resume(),
    );
    req.on('error', () => undefined);
    setTimeout(() => req.destroy(), 200);
  }
  assert.ok((await Promise.all(slow)).every((r) => r.status === 200));
  const after = await request(ctx.relay.httpPort, a.host, { path: '/hello', timeout: 30_000 });
  assert.is(after.status, 200, 'the tunnel still has connections to its local server');
  await waitFor(() => ctx.relay.registry.lookup('queue')?.tunnel?.streams.size === 0, 15_000, 'every relay stream released');
});

it('a client that leaves mid-upload after its response releases the stream on both sides', async () => {
  const a = later(await agent(ctx.relay.url, ctx.origin.port, { subdomain: 'halfway' }), stopAgent);
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: ctx.relay.httpPort,
          method: 'POST',
          path: '/hello',
          headers: { host: a.host, 'transfer-encoding': 'chunked' },
          agent: false,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => undefined);
      req.write(Buffer.alloc(100_000));
    });
  }
  const agentStreams = (a as unknown as { tunnel: { streams: Map<number, unknown> } }).tunnel.streams;
  await waitFor(
    () => ctx.relay.registry.lookup('halfway')?.tunnel?.streams.size === 0 && agentStreams.size === 0,
    15_000,
    'both ends to forget the streams',
  );
});

it.run();

const frames = suite('--max-frame-size');
const dispose = disposeAfterEach(frames);
frames('a relay with small frames still carries large bodies both ways; the agent learns the limit', async () => {
  const origin = dispose(await startOrigin(), (o) => o.close());
  const r = dispose(await relay({ maxFramePayload: 16 * 1024 }), (x) => x.close(0));
  const a = dispose(await agent(r.url, origin.port, { subdomain: 'small-frames' }), stopAgent);
  const down = await request(r.httpPort, a.host, { path: `/bytes?n=${1024 * 1024}` });
  assert.is(down.status, 200);
  assert.is(down.body.length, 1024 * 1024);
  const up = await request(r.httpPort, a.host, { path: '/sha', method: 'POST', body: Buffer.alloc(1024 * 1024, 7) });
  assert.is(JSON.parse(up.body.toString()).bytes, 1024 * 1024);
  assert.is((a as unknown as { tunnel: { sendFrameLimit: number } }).tunnel.sendFrameLimit, 16 * 1024);
});
frames.run();
