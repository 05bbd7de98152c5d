/**
 * A hostile or broken relay may cut the agent off, never crash it (the agent runs inside VS Code's
 * extension host) nor make it do something else: each case is a relay of the test's own.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import { Agent } from '../../extension/agent/agent';
import { FrameType, decodeFrames, decodeJson, encodeFrame, encodeJson, type Frame, type Reset, type Welcome } from '../../core/protocol';
import { decodeResponseHead, encodeRequestHead } from '../../core/heads';
import { startOrigin, waitFor, type Origin } from '../helpers';

const ctx = {} as { origin: Origin };
const it = suite('a hostile relay', ctx);
it.before(async () => {
  ctx.origin = await startOrigin();
});
it.after(async () => {
  await ctx.origin.close();
});

const WELCOME: Welcome = { url: 'http://mine.localhost:1', subdomain: 'mine', resume: 'r'.repeat(24), heartbeat: 15 };

/** A relay that answers each agent's HELLO with `greet(ws)`, and hands the test every frame the agent sends. */
async function fakeRelay(greet: (ws: WebSocket) => void) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const frames: Frame[] = [];
  const sockets: WebSocket[] = [];
  const closes: { code: number; reason: string }[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (data: Buffer) => {
      for (const frame of decodeFrames(data)) {
        if (frame.type === FrameType.Hello) greet(ws);
        else frames.push({ ...frame, payload: Buffer.from(frame.payload) });
      }
    });
    ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
  });
  return {
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    frames,
    sockets,
    closes,
    close: () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}

function sharing(relay: string): Agent {
  const agent = new Agent({ target: String(ctx.origin.port), relay });
  agent.start().catch(() => undefined);
  return agent;
}

it('a WELCOME whose URL, heartbeat or frame size could misdirect the agent or spin its timers is refused with 1002', async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a command: URL (opened by "Open Public URL")', { url: 'command:workbench.action.quit' }, /http:\/\/ or https:\/\/ URL/],
    ['a javascript: URL', { url: 'javascript:alert(1)' }, /http:\/\/ or https:\/\/ URL/],
    ['a URL that is not text', { url: 42 }, /URL/],
    ['a heartbeat of 0 (a timer every millisecond)', { heartbeat: 0 }, /heartbeat of 0.1 to 86400 seconds/],
    ['a heartbeat past what Node timers can wait', { heartbeat: 1e9 }, /heartbeat/],
    ['a heartbeat that is not a number', { heartbeat: 'often' }, /heartbeat/],
    ['a negative frame size (a loop that never ends)', { maxFrame: -5 }, /frame size must be a whole number/],
    ['a fractional frame size', { maxFrame: 20_000.5 }, /frame size/],
    ['a frame size below one DATA frame', { maxFrame: 10 }, /frame size/],
    ['no resume secret', { resume: undefined }, /subdomain and a resume secret/],
    ['a private link that is no web URL (copied, shown as a QR code)', { link: 'file:///etc/passwd' }, /private link must be an http/],
    [
      'an access summary of the wrong shape',
      { access: { password: 'yes', privateLink: false, allowIps: 1, openPaths: 0 } },
      /access summary/,
    ],
  ];
  for (const [label, override, reason] of cases) {
    const relay = await fakeRelay((ws) => ws.send(encodeJson(FrameType.Welcome, 0, { ...WELCOME, ...override })));
    const agent = sharing(relay.url);
    try {
      await waitFor(() => relay.closes.length > 0, 15_000, `${label}: the agent to close`);
      assert.is(relay.closes[0].code, 1002, label);
      assert.match(relay.closes[0].reason, reason, label);
      assert.is(agent.url, undefined, `${label}: the agent never went live`);
      assert.ok(['connecting', 'reconnecting'].includes(agent.state.status), `${label}: it tries again (${agent.state.status})`);
    } finally {
      await agent.stop();
      relay.close();
    }
  }
});

it('a second WELCOME, a malformed REFUSE or a frame only agents send cut the connection; the agent tries again', async () => {
  const cases: [string, Buffer, RegExp][] = [
    ['a second WELCOME', encodeJson(FrameType.Welcome, 0, WELCOME), /frame type 2 on stream 0 after WELCOME/],
    ['a REFUSE with an unknown code', encodeJson(FrameType.Refuse, 0, { code: 'gotcha', message: 'x' }), /REFUSE needs a known code/],
    ['a REFUSE that is not JSON', encodeFrame(FrameType.Refuse, 0, Buffer.from('{')), /REFUSE on stream 0 is not valid JSON/],
    ['a HELLO', encodeJson(FrameType.Hello, 0, { protocol: 2 }), /frame type 1 on stream 0/],
  ];
  for (const [label, frame, reason] of cases) {
    const relay = await fakeRelay((ws) => ws.send(Buffer.concat([encodeJson(FrameType.Welcome, 0, WELCOME), frame])));
    const agent = sharing(relay.url);
    try {
      await waitFor(() => relay.closes.length > 0, 15_000, `${label}: the agent to close`);
      assert.is(relay.closes[0].code, 1002, label);
      assert.match(relay.closes[0].reason, reason, label);
      await waitFor(() => relay.sockets.length > 1, 15_000, `${label}: the agent to connect again`);
      assert.not.equal(agent.state.status, 'failed', label);
    } finally {
      await agent.stop();
      relay.close();
    }
  }
});

it('requests the local server cannot be sent are answered with RESET internal, and the tunnel carries on', async () => {
  const relay = await fakeRelay((ws) => ws.send(encodeJson(FrameType.Welcome, 0, WELCOME)));
  const agent = sharing(relay.url);
  try {
    await waitFor(() => agent.url, 15_000, 'the agent to go live');
    const [ws] = relay.sockets;
    // Fields as a hostile relay could write them: method, path, remote, flags, then header names and values.
    const open = (stream: number, fields: string[]) => encodeFrame(FrameType.Open, stream, Buffer.from(fields.join('\n'), 'latin1'));
    const cases: [string, string[]][] = [
      ['a method with a space', ['G ET', '/hello', '', '']],
      ['a path with a space', ['GET', '/a b', '', '']],
      ['a path that is no path', ['GET', 'hello', '', '']],
      ['a header name with a space', ['GET', '/hello', '', '', 'x y', '1']],
      ['a header value with CR', ['GET', '/hello', '', '', 'x', 'a\rb']],
      ['a Transfer-Encoding header', ['GET', '/hello', '', '', 'transfer-encoding', 'chunked']],
      ['an Expect header', ['GET', '/hello', '', '', 'expect', '100-continue']],
      ['an upgrade with a bad method', ['G ET', '/ws', '', 'upgrade', 'upgrade', 'websocket']],
      ['an upgrade with a bad path', ['GET', '/w s', '', 'upgrade', 'upgrade', 'websocket']],
      ['an upgrade with a bad header', ['GET', '/ws', '', 'upgrade', 'x\ty', '1']],
    ];
    const first = 11;
    ws.send(Buffer.concat(cases.map(([, fields], i) => Buffer.concat([open(first + i, fields), encodeFrame(FrameType.End, first + i)]))));
    const resets = await waitFor(
      () => {
        const found = relay.frames.filter((f) => f.type === FrameType.Reset);
        return found.length >= cases.length ? found : undefined;
      },
      10_000,
      'a RESET for every stream',
    );
    for (const [i, [label]] of cases.entries()) {
      const reset = resets.find((f) => f.stream === first + i);
      assert.ok(reset, `${label}: a RESET`);
      const { code, message } = decodeJson<Reset>(reset as Frame, 'RESET');
      assert.is(code, 'internal', label);
      assert.match(message, /The agent cannot send this request to the local server/, label);
    }
    ws.send(Buffer.concat([encodeRequestHead(99, { method: 'GET', path: '/hello', headers: [] }), encodeFrame(FrameType.End, 99)]));
    const response = await waitFor(() => relay.frames.find((f) => f.stream === 99 && f.type === FrameType.Response), 15_000, 'an answer');
    assert.is(decodeResponseHead(response).status, 200, 'the same tunnel still carries requests');
    assert.is(relay.closes.length, 0);
  } finally {
    await agent.stop();
    relay.close();
  }
});

it('a relay answering the WebSocket upgrade with a Location that is no URL is reported, not thrown, and not retried', async () => {
  for (const location of ['https://[', 'https://%%', 'https://relay.example:8443/x']) {
    const server = http.createServer();
    server.on('upgrade', (_req, socket) =>
      socket.end(`HTTP/1.1 301 Moved Permanently\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const agent = sharing(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const state = await waitFor(() => (agent.state.status === 'failed' ? agent.state : undefined), 15_000, 'the agent to stop');
      if (location.endsWith('/x'))
        assert.match(state.error.message, /serves HTTPS only: use https:\/\/relay\.example:8443 as the relay URL\.$/);
      else
        assert.match(
          state.error.message,
          /answered with a redirect \(HTTP 301 to https:\/\/(\[|%%)\) instead of accepting the agent/,
          location,
        );
    } finally {
      await agent.stop();
      server.close();
    }
  }
});

it.run();
