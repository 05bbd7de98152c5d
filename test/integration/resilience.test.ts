/** Failures of every kind stay with the party concerned: restarts, dead agents, silent peers, bad frames, limits. */
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { Agent, type AgentState } from '../../extension/agent/agent';
import { CONNECT_PATH, FrameType, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, encodeFrame, encodeJson, type Refusal } from '../../core/protocol';
import type { LogFields } from '../../relay/log';
import { startRelay } from '../../relay/server';
import { agent, exitWithin, freePort, originSuite, relay, request, run, share, waitFor } from '../helpers';
import { ManualClock } from '../clock';
import type { Relay } from '../../relay/server';

const { it, ctx, later } = originSuite('resilience');
const closeRelay = (r: Relay) => r.close(0);
const stopAgent = (a: { stop(): Promise<void> }) => a.stop();
const terminate = (ws: WebSocket) => ws.terminate();
const closeServer = (wss: WebSocketServer) => new Promise((resolve) => wss.close(resolve));

/** A hand-made agent: a raw WebSocket that says HELLO and then whatever the test wants. */
async function rawAgent(port: number, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = later(new WebSocket(`ws://localhost:${port}${CONNECT_PATH}`, options), terminate);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}
const closeOf = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );

it('the relay restarts: the agent reconnects and the same URL works again', async () => {
  const port = await freePort();
  const first = later(await relay({ httpPort: port }), closeRelay);
  const a = later(await agent(first.url, ctx.origin.port, { subdomain: 'phoenix' }), stopAgent);
  const states: string[] = [];
  a.on('state', (s: AgentState) => states.push(s.status));
  await first.close(0);
  later(await relay({ httpPort: port }), closeRelay);
  await waitFor(async () => (await request(port, a.host, { path: '/hello' })).status === 200, 15_000, 'the tunnel back after the restart');
  assert.is(a.url, `http://phoenix.localhost:${port}`);
  assert.ok(states.includes('reconnecting') && states.at(-1) === 'live', states.join(' → '));
});

it('an agent killed outright: 503 during the grace period, nobody else takes the name, then 404', async () => {
  const clock = new ManualClock();
  const r = later(await relay({ gracePeriodMs: 60_000 }, clock), closeRelay);
  const killed = later(await share([String(ctx.origin.port), '--relay', r.url, '--subdomain', 'doomed']), stopAgent);
  const host = new URL(killed.url).host;
  assert.is((await request(r.httpPort, host, { path: '/hello' })).status, 200);
  killed.process.kill('SIGKILL');
  await waitFor(async () => (await request(r.httpPort, host, { path: '/hello' })).status === 503, 15_000, 'the reconnecting page');
  const page = await request(r.httpPort, host, { path: '/hello' });
  assert.match(page.body.toString(), /waiting up to 60 s for it to reconnect/);
  const thief = later(new Agent({ target: String(ctx.origin.port), relay: r.url, subdomain: 'doomed' }), stopAgent);
  const refused = await thief.start().then(
    () => undefined,
    (e: Error & { code?: string }) => e,
  );
  assert.is(refused?.code, 'taken');
  assert.match(refused?.message ?? '', /reserved for its previous agent for 60 more seconds/);
  clock.advance(59_999);
  assert.is((await request(r.httpPort, host, { path: '/hello' })).status, 503, 'a millisecond before the grace period ends');
  clock.advance(1);
  assert.is((await request(r.httpPort, host, { path: '/hello' })).status, 404, 'once it has ended');
});

it('a clean stop frees the name at once', async () => {
  const r = later(await relay({ gracePeriodMs: 60_000 }), closeRelay);
  const first = later(await agent(r.url, ctx.origin.port, { subdomain: 'handover' }), stopAgent);
  await first.stop();
  await waitFor(() => r.registry.lookup('handover') === undefined, 10_000, 'the name to be freed');
  const second = later(await agent(r.url, ctx.origin.port, { subdomain: 'handover' }), stopAgent);
  assert.is((await request(r.httpPort, second.host, { path: '/hello' })).status, 200);
});

it('the relay detects a silent agent after two heartbeat intervals, and not before', async () => {
  const clock = new ManualClock();
  const r = later(await relay({ heartbeatMs: 15_000, gracePeriodMs: 60_000 }, clock), closeRelay);
  const ws = await rawAgent(r.httpPort, { autoPong: false });
  const pinged = new Promise((resolve) => ws.once('ping', resolve));
  const closed = closeOf(ws);
  ws.send(encodeJson(FrameType.Hello, 0, { protocol: PROTOCOL_VERSION, agent: 'silent', subdomain: 'silent' }));
  const tunnel = await waitFor(() => r.registry.lookup('silent')?.tunnel, 10_000, 'registration');
  clock.advance(15_000);
  await pinged;
  assert.ok(tunnel.isOpen, 'one interval without a word is allowed');
  clock.advance(15_000);
  assert.equal(await closed, { code: 4001, reason: 'no heartbeat for 30 s' });
  assert.ok(r.registry.lookup('silent')?.reconnectingUntil, 'the name waits for its agent');
});

it('an agent that never says HELLO is cut off after 10 s', async () => {
  const clock = new ManualClock();
  const r = later(await relay({}, clock), closeRelay);
  const ws = await rawAgent(r.httpPort);
  const closed = closeOf(ws);
  clock.advance(9_999);
  // A close frame sent by then would arrive before the answer to this ping.
  await new Promise((resolve) => ws.ping(undefined, undefined, () => ws.once('pong', resolve)));
  assert.is(ws.readyState, WebSocket.OPEN, 'still connected a millisecond before the deadline');
  clock.advance(1);
  assert.equal(await closed, { code: 1002, reason: 'no HELLO within 10 s' });
});

it('an agent turned away before it registers leaves a line saying why, at most one a minute per address', async () => {
  const clock = new ManualClock();
  const lines: LogFields[] = [];
  const r = later(
    await startRelay({ config: { httpPort: 0 }, clock, log: (event, fields = {}) => lines.push({ event, ...fields }) }),
    closeRelay,
  );
  // As a JSON log writes them: fields without a value left out.
  const rejected = () => lines.filter((line) => line.event === 'agent.rejected').map((line) => JSON.parse(JSON.stringify(line)));
  const silent = await rawAgent(r.httpPort);
  const cut = closeOf(silent);
  clock.advance(10_000);
  await cut;
  await waitFor(() => rejected().length === 1, 15_000, 'the line for an agent without HELLO');
  assert.equal(rejected()[0], {
    event: 'agent.rejected',
    code: 1002,
    reason: 'no HELLO within 10 s',
    greeted: false,
    remote: '127.0.0.1',
  });

  // The same address again within the minute: counted, not written.
  const huge = await rawAgent(r.httpPort);
  const tooBig = closeOf(huge);
  huge.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1));
  assert.is((await tooBig).code, 1009);
  // Its line is due only once the relay has seen it go: its connection's slot is free by then.
  const open = () => /porthole_connections\{slots="all"\} (\d+)/.exec(r.metrics.render(r.registry, []))?.[1];
  await waitFor(() => open() === '0', 15_000, 'the relay to see the connection go');
  assert.is(rejected().length, 1, 'a second rejection within the minute is counted, not written');
  clock.advance(60_000);
  const quitter = await rawAgent(r.httpPort);
  const quit = closeOf(quitter);
  quitter.close();
  await quit;
  await waitFor(() => rejected().length === 2, 15_000, 'the next line, a minute later');
  assert.equal(rejected()[1], { event: 'agent.rejected', code: 1005, greeted: false, remote: '127.0.0.1', times: 2 });
});

it('the agent detects a silent relay after two heartbeat intervals and reconnects', async () => {
  const wss = later(new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: false }), closeServer);
  await new Promise((resolve) => wss.once('listening', resolve));
  wss.on('connection', (ws) =>
    ws.on('message', () =>
      ws.send(encodeJson(FrameType.Welcome, 0, { url: 'http://x.localhost', subdomain: 'x', resume: 'r'.repeat(24), heartbeat: 15 })),
    ),
  );
  const clock = new ManualClock();
  const a = later(
    new Agent({ target: String(ctx.origin.port), relay: `http://127.0.0.1:${(wss.address() as { port: number }).port}`, clock }),
    stopAgent,
  );
  await a.start();
  const tunnel = () => (a as unknown as { tunnel?: { isOpen: boolean } }).tunnel;
  clock.advance(15_000);
  assert.ok(tunnel()?.isOpen, 'one interval without a word is allowed');
  clock.advance(15_000);
  const reconnecting = await waitFor(() => (a.state.status === 'reconnecting' ? a.state : undefined), 15_000, 'reconnecting state');
  assert.match(reconnecting.reason, /stopped answering heartbeats/);
});

it('the agent gives up on a relay that accepts the WebSocket but never answers HELLO, after 10 s, and tries again', async () => {
  const wss = later(new WebSocketServer({ port: 0, host: '127.0.0.1' }), closeServer);
  await new Promise((resolve) => wss.once('listening', resolve));
  const connections: WebSocket[] = [];
  wss.on('connection', (ws) => connections.push(ws));
  const clock = new ManualClock();
  const a = later(
    new Agent({ target: String(ctx.origin.port), relay: `http://127.0.0.1:${(wss.address() as { port: number }).port}`, clock }),
    stopAgent,
  );
  void a.start().catch(() => undefined);
  await waitFor(() => connections.length === 1 && a.state.status === 'connecting', 15_000, 'the first connection');
  await waitFor(() => clock.pending > 0, 15_000, 'the agent to wait for WELCOME');
  clock.advance(10_000);
  // Never live, so it is still connecting: the try failed and the next one waits.
  const retry = await waitFor(() => (a.state.status === 'connecting' ? a.state.retry : undefined), 15_000, 'a retry');
  assert.match(retry.reason, /did not answer within 10 s/);
});

it('malformed and oversized frames close only that connection, with a reason', async () => {
  const r = later(await relay(), closeRelay);
  const good = later(await agent(r.url, ctx.origin.port, { subdomain: 'bystander' }), stopAgent);
  const cases: [string, (ws: WebSocket) => void, number, RegExp][] = [
    ['truncated header', (ws) => ws.send(Buffer.from([1, 0, 0])), 1002, /truncated frame header/],
    ['unknown type', (ws) => ws.send(encodeFrame(42 as FrameType, 0)), 1002, /unknown frame type 42/],
    ['text message', (ws) => ws.send('hello?'), 1002, /frames are binary/],
    ['HELLO that is not JSON', (ws) => ws.send(encodeFrame(FrameType.Hello, 0, Buffer.from('{nope'))), 1002, /not valid JSON/],
    ['DATA before HELLO', (ws) => ws.send(encodeFrame(FrameType.Window, 0, Buffer.alloc(4, 1))), 1002, /first frame must be HELLO/],
    // ws closes with 1009 ("message too big") and no text; the relay logs the details.
    ['oversized message', (ws) => ws.send(Buffer.alloc(2 * 1024 * 1024)), 1009, /^$/],
  ];
  for (const [label, send, expectedCode, reason] of cases) {
    const ws = await rawAgent(r.httpPort);
    const closed = closeOf(ws);
    send(ws);
    const { code, reason: text } = await closed;
    assert.is(code, expectedCode, label);
    assert.match(text, reason, label);
  }
  assert.is((await request(r.httpPort, good.host, { path: '/hello' })).status, 200, 'the other tunnel never noticed');
});

it('an agent of another protocol version is told which side to update', async () => {
  const r = later(await relay(), closeRelay);
  for (const [protocol, advice] of [
    [
      0,
      /Update this agent to Porthole \d+\.\d+\.\d+: the VS Code extension from the newer \.vsix, the porthole command with git pull && npm install/,
    ],
    [PROTOCOL_VERSION + 1, /Update the relay/],
  ] as const) {
    const ws = await rawAgent(r.httpPort);
    const refusal = new Promise<Refusal>((resolve) => ws.on('message', (data: Buffer) => resolve(JSON.parse(data.subarray(9).toString()))));
    ws.send(encodeJson(FrameType.Hello, 0, { protocol, agent: 'other' }));
    assert.is((await refusal).code, 'version');
    assert.match((await refusal).message, advice);
    ws.terminate();
  }
});

it('per-tunnel stream limit: the busy tunnel answers 503, others are untouched', async () => {
  const r = later(await relay({ maxStreamsPerTunnel: 2 }), closeRelay);
  const busy = later(await agent(r.url, ctx.origin.port, { subdomain: 'busy' }), stopAgent);
  const calm = later(await agent(r.url, ctx.origin.port, { subdomain: 'calm' }), stopAgent);
  const slow = [request(r.httpPort, busy.host, { path: '/slow?n=800' }), request(r.httpPort, busy.host, { path: '/slow?n=800' })];
  await waitFor(() => r.registry.lookup('busy')?.activeStreams === 2, 15_000, 'two requests in flight');
  const third = await request(r.httpPort, busy.host, { path: '/hello' });
  assert.is(third.status, 503);
  assert.match(third.body.toString(), /already has 2 requests in flight/);
  assert.is((await request(r.httpPort, calm.host, { path: '/hello' })).status, 200);
  assert.ok((await Promise.all(slow)).every((reply) => reply.status === 200));
});

it('the CLI exits non-zero with a clear message: wrong token, taken name, invalid name, unreachable relay', async () => {
  const r = later(await relay({ tokens: ['right-token-123456'] }), closeRelay);
  const owner = later(await agent(r.url, ctx.origin.port, { subdomain: 'owned', token: 'right-token-123456' }), stopAgent);
  // The relay says what happened; the CLI adds what to do, in its own flags.
  const attempts: [string[], RegExp][] = [
    [['--token', 'wrong-token'], /rejected this token.*\nPass the relay's agent token with --token T \(or PORTHOLE_TOKEN\)\.\n$/],
    [[], /needs a token.*\nPass the relay's agent token with --token T/],
    [['--token', 'right-token-123456', '--subdomain', 'owned'], /already taken: it is in use\.\nChoose another name with --subdomain/],
    [['--token', 'right-token-123456', '--subdomain', 'Not_A..Name!'], /not a valid name.*\nChoose another name with --subdomain/],
  ];
  for (const [args, message] of attempts) {
    const child = later(run(['dist/cli.js', 'share', String(ctx.origin.port), '--relay', r.url, ...args]), stopAgent);
    const code = await exitWithin(child, 30_000);
    assert.is(code, 1, args.join(' '));
    assert.match(child.err, message);
    assert.not.match(child.err, /Set Relay Token|VS Code/, 'no VS Code command named to a CLI user');
  }
  const closedPort = await freePort();
  const lost = later(
    run(['dist/cli.js', 'share', String(ctx.origin.port), '--relay', `http://127.0.0.1:${closedPort}`, '--json']),
    stopAgent,
  );
  const code = await exitWithin(lost, 40_000);
  assert.is(code, 1);
  assert.match(
    lost.err,
    new RegExp(`Could not reach the relay .* after 5 attempts: 127\\.0\\.0\\.1:${closedPort} refused the connection\\.`),
  );
  assert.ok(lost.events().some((e) => e.event === 'error' && e.code === 'unreachable'));
  // Never live: each failed try is a "connecting" event, numbered; "reconnecting" is for a tunnel that was up.
  assert.equal(
    lost.events().flatMap((e) => (e.event === 'connecting' ? [e.attempt] : e.event === 'reconnecting' ? ['reconnecting'] : [])),
    [1, 2, 3, 4],
  );
  assert.is((await request(r.httpPort, owner.host, { path: '/hello' })).status, 200);
});

it.run();
