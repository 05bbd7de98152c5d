/**
 * Hostile agents against a real relay process: after a genuine HELLO, random sequences of well- and
 * ill-formed frames (out of order, for streams that are closed or were never opened, huge windows,
 * text everywhere). The relay lives, a bystander tunnel keeps answering, every visitor of the hostile
 * tunnel gets an answer once it is gone, and the relay's memory stays bounded.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import WebSocket from 'ws';
import type { Agent } from '../../extension/agent/agent';
import { CONNECT_PATH, FrameType, PROTOCOL_VERSION, encodeFrame, encodeJson, encodeWindow } from '../../core/protocol';
import { encodeResponseHead } from '../../core/heads';
import {
  agent,
  exitWithin,
  freePort,
  handledByPeer,
  request,
  startOrigin,
  startRelayProcess,
  waitFor,
  type Origin,
  type RelayProcess,
} from '../helpers';
import { anyText, longText, message, runs, token } from './arbitraries';

const ADMIN = 'fuzz-admin-token-0123456789';
const ctx = {} as { origin: Origin; relay: RelayProcess; port: number; bystander: Agent & { host: string }; cases: number };
const it = suite('hostile agents against a relay process', ctx);
it.before(async () => {
  ctx.origin = await startOrigin();
  ctx.port = await freePort();
  ctx.cases = 0;
  await startRelayAndBystander();
});
it.after(async () => {
  await ctx.bystander.stop();
  await ctx.relay.stop('SIGKILL');
  await ctx.origin.close();
});

async function startRelayAndBystander(): Promise<void> {
  ctx.relay = await startRelayProcess([
    '--http-port',
    String(ctx.port),
    '--grace',
    '0',
    '--admin-token',
    ADMIN,
    '--max-tunnels-per-token',
    '100000',
  ]);
  ctx.bystander = await agent(`http://localhost:${ctx.port}`, ctx.origin.port, { subdomain: 'bystander' });
}

/**
 * A relay a failed case killed is started again before the next one: fast-check then shrinks the
 * failure against a live relay, and the case it prints is one that kills a relay on its own.
 */
async function relayAlive(): Promise<void> {
  if (ctx.relay.process.exitCode === null) return;
  await ctx.bystander.stop();
  await startRelayAndBystander();
}

/** Something a hostile agent does once registered: a frame that fits its streams, any message at all, or text. */
type Action = { bytes: Buffer } | { text: string };

/** Actions of an agent whose tunnel has `open` streams (1 to `open`; one more that is not open). */
function actions(open: number): fc.Arbitrary<Action[]> {
  const stream = fc.integer({ min: 1, max: open + 1 });
  const wellFormed: fc.Arbitrary<Buffer> = fc.oneof(
    stream.map((s) => encodeResponseHead(s, { status: 200, statusText: 'OK', headers: ['content-type', 'text/plain'] })),
    fc
      .tuple(stream, fc.integer({ min: 100, max: 599 }), fc.array(anyText, { maxLength: 4 }))
      .map(([s, status, values]) => encodeResponseHead(s, { status, headers: values.flatMap((v, i) => [`x-fuzz-${i}`, v]) })),
    fc.tuple(stream, fc.uint8Array({ maxLength: 2000 })).map(([s, bytes]) => encodeFrame(FrameType.Data, s, bytes)),
    stream.map((s) => encodeFrame(FrameType.End, s)),
    fc.tuple(stream, fc.constantFrom(1, 65536, 2 ** 31, 0xffffffff)).map(([s, n]) => encodeWindow(s, n)),
    fc.tuple(stream, anyText).map(([s, text]) => encodeJson(FrameType.Reset, s, { code: 'internal', message: text })),
  );
  // A RESPONSE for an open stream whose status, reason, header names and values are any text, as latin1 or UTF-8.
  const anyHead: fc.Arbitrary<Buffer> = fc
    .tuple(
      stream,
      fc.oneof(fc.constant('200'), fc.stringMatching(/^\d{1,4}$/), anyText),
      fc.oneof(fc.constant('OK'), anyText, longText),
      fc.array(fc.tuple(fc.oneof(token, longText), fc.oneof(anyText, longText)), { maxLength: 4 }),
      fc.constantFrom<BufferEncoding>('latin1', 'utf8'),
    )
    .map(([s, status, reason, pairs, encoding]) =>
      encodeFrame(FrameType.Response, s, Buffer.from([status, reason, ...pairs.flat()].join('\n'), encoding)),
    );
  const action: fc.Arbitrary<Action> = fc.oneof(
    { weight: 3, arbitrary: fc.array(wellFormed, { minLength: 1, maxLength: 3 }).map((frames) => ({ bytes: Buffer.concat(frames) })) },
    { weight: 3, arbitrary: anyHead.map((bytes) => ({ bytes })) },
    { weight: 3, arbitrary: message.map((bytes) => ({ bytes })) },
  );
  // A text message ends the connection at once: at most one, last.
  const text = fc.option(
    anyText.map((t) => ({ text: t })),
    { freq: 10 },
  );
  return fc.tuple(fc.array(action, { minLength: 1, maxLength: 8 }), text).map(([list, last]) => (last ? [...list, last] : list));
}

const scenario = fc
  .array(fc.constantFrom('GET', 'POST', 'HEAD'), { minLength: 1, maxLength: 3 })
  .chain((visitors) => actions(visitors.length).map((list) => ({ visitors, actions: list })));

/** A genuine agent connection: HELLO answered by WELCOME; every frame the relay sends after it is counted. */
async function rogueAgent(name: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${ctx.port}${CONNECT_PATH}`, { headers: { host: `localhost:${ctx.port}` } });
  const opens: number[] = [];
  let welcomed!: () => void;
  const welcome = new Promise<void>((resolve) => {
    welcomed = resolve;
  });
  ws.on('message', (data: Buffer) => {
    if (data[0] === FrameType.Welcome) welcomed();
    for (let offset = 0; offset + 9 <= data.length; offset += 9 + data.readUInt32BE(offset + 5)) {
      if (data[offset] === FrameType.Open) opens.push(data.readUInt32BE(offset + 1));
    }
  });
  ws.on('error', () => undefined);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(encodeJson(FrameType.Hello, 0, { protocol: PROTOCOL_VERSION, agent: 'fuzz', subdomain: name }));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    welcome,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no WELCOME for ${name} within 5 s`)), 5000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { ws, opens };
}

/** Fails with the relay's last words when it no longer answers its health check. */
async function relayAnswers(): Promise<void> {
  const health = await request(ctx.port, `localhost:${ctx.port}`, { path: '/_porthole/health', timeout: 10_000 }).catch(
    (error: Error) => error,
  );
  if (!(health instanceof Error) && health.status === 200) return;
  await exitWithin(ctx.relay, 5000);
  const words = ctx.relay.err.split('\n').filter((line) => !line.startsWith('{'));
  throw new Error(`the relay stopped answering (exit ${ctx.relay.process.exitCode}): ${words.join('\n').slice(0, 1500)}`);
}

async function metric(name: string): Promise<number> {
  const reply = await request(ctx.port, `localhost:${ctx.port}`, {
    path: '/_porthole/metrics',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  const value = new RegExp(`^${name} (\\d+)$`, 'm').exec(reply.body.toString())?.[1];
  assert.ok(value, `${name} in the metrics`);
  return Number(value);
}

it('the relay lives, the bystander answers, and every visitor of a hostile tunnel gets an answer', async () => {
  const rssBefore = await metric('process_resident_memory_bytes');
  await fc.assert(
    fc.asyncProperty(scenario, async ({ visitors, actions }) => {
      await relayAlive();
      const name = `rogue-${ctx.cases++}`;
      const rogue = await rogueAgent(name);
      const host = `${name}.localhost:${ctx.port}`;
      const answers = visitors.map((method) =>
        request(ctx.port, host, { method, path: '/fuzz', body: method === 'POST' ? 'x'.repeat(3000) : undefined, timeout: 15_000 }).then(
          (reply) => reply.status,
          (error: Error) => error.message,
        ),
      );
      await waitFor(() => rogue.opens.length >= visitors.length, 15_000, `${visitors.length} streams opened`);
      for (const a of actions) {
        if (rogue.ws.readyState !== WebSocket.OPEN) break;
        if ('text' in a) rogue.ws.send(a.text);
        else rogue.ws.send(a.bytes);
      }
      await handledByPeer(rogue.ws);
      await relayAnswers();
      const bystander = await request(ctx.port, ctx.bystander.host, { path: '/hello', timeout: 10_000 });
      assert.is(bystander.status, 200, 'the bystander answers');
      assert.is(bystander.body.toString(), 'hello from origin\n');
      rogue.ws.terminate();
      const settled = await Promise.race([
        Promise.all(answers),
        new Promise<'hanging'>((resolve) => setTimeout(resolve, 10_000, 'hanging').unref()),
      ]);
      assert.ok(settled !== 'hanging', 'every visitor of the hostile tunnel was answered once it was gone');
      // Whatever the hostile tunnel's end set off has happened by now: the relay still answers.
      await relayAnswers();
      return true;
    }),
    runs(250),
  );
  await waitFor(
    async () => JSON.parse((await request(ctx.port, `localhost:${ctx.port}`, { path: '/_porthole/health' })).body.toString()).tunnels === 1,
    10_000,
    'every hostile tunnel to be gone, the bystander alone',
  );
  const rssAfter = await metric('process_resident_memory_bytes');
  const heap = await metric('nodejs_heap_size_used_bytes');
  assert.ok(rssAfter - rssBefore < 128 * 1024 * 1024, `the relay grew from ${rssBefore >> 20} to ${rssAfter >> 20} MiB`);
  assert.ok(heap < 128 * 1024 * 1024, `${heap >> 20} MiB of heap in use`);
  assert.is(await metric('porthole_faults_total\\{kind="exception"\\}'), 0, `exceptions caught: ${ctx.relay.err.slice(-3000)}`);
});

it.run();
