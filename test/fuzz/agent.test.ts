/**
 * A fuzzing relay against real agents (`porthole share` processes): after a genuine WELCOME, random
 * frames of every kind, well- and ill-formed, for open, closed and unknown streams. Each agent
 * lives, serves a plain request on the same connection when it kept it, and reconnects for the next.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import WebSocket, { WebSocketServer } from 'ws';
import {
  FrameType,
  ProtocolError,
  decodeFrames,
  decodeJson,
  encodeFrame,
  encodeJson,
  encodeWindow,
  type Frame,
  type Refusal,
} from '../../core/protocol';
import { checkRefusal } from '../../core/controlChecks';
import { encodeRequestHead } from '../../core/heads';
import { handledByPeer, share, startOrigin, waitFor, type Child, type Origin } from '../helpers';
import { anyText, message, runs, token } from './arbitraries';

const AGENTS = 4;
const WELCOME = { url: 'http://fuzz.localhost', subdomain: 'fuzz', resume: 'r'.repeat(24), heartbeat: 60 };

interface Connection {
  ws: WebSocket;
  /** The agent's name (each has its own --subdomain), from its HELLO. */
  name: string;
  /** Frames the agent sent after its HELLO. */
  frames: Frame[];
}

const ctx = {} as {
  origin: Origin;
  relay: string;
  wss: WebSocketServer;
  agents: Map<string, Child>;
  waiting: Connection[];
  arrived: (() => void)[];
  restarts: number;
};
const it = suite('a fuzzing relay against agent processes', ctx);
it.before(async () => {
  ctx.origin = await startOrigin();
  ctx.waiting = [];
  ctx.arrived = [];
  ctx.wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => ctx.wss.once('listening', resolve));
  // Each connection waits, its HELLO read, until a case takes it.
  ctx.wss.on('connection', (ws) => {
    const connection: Connection = { ws, name: '', frames: [] };
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary) => {
      const frames = isBinary ? decodeFrames(data) : [];
      const hello = frames.find((f) => f.type === FrameType.Hello);
      if (hello) {
        connection.name = decodeJson<{ subdomain: string }>(hello, 'HELLO').subdomain;
        ctx.waiting.push(connection);
        for (const wake of ctx.arrived.splice(0)) wake();
      } else connection.frames.push(...frames.map((f) => ({ ...f, payload: Buffer.from(f.payload) })));
    });
  });
  ctx.relay = `http://127.0.0.1:${(ctx.wss.address() as AddressInfo).port}`;
  ctx.agents = new Map();
  ctx.restarts = 0;
  await Promise.all(Array.from({ length: AGENTS }, (_, i) => startAgent(`fuzz-${i}`)));
});
it.after(async () => {
  for (const agent of ctx.agents.values()) await agent.stop('SIGKILL');
  for (const ws of ctx.wss.clients) ws.terminate();
  ctx.wss.close();
  await ctx.origin.close();
});

function welcome(connection: Connection): void {
  connection.ws.send(
    encodeJson(FrameType.Welcome, 0, { ...WELCOME, subdomain: connection.name, url: `http://${connection.name}.localhost` }),
  );
}

/** `porthole share` named `name`; its first connection is welcomed (it is then live) and closed, so it comes back for a case. */
async function startAgent(name: string): Promise<void> {
  const starting = share([String(ctx.origin.port), '--relay', ctx.relay, '--subdomain', name, '--quiet']);
  const first = await nextConnection(name);
  welcome(first);
  ctx.agents.set(name, await starting);
  first.ws.close(1001, 'come back');
}

/** An agent that died in a failed case is started again, so fast-check shrinks that case against live agents. */
async function agentsAlive(): Promise<void> {
  for (const [name, agent] of ctx.agents) {
    if (agent.process.exitCode === null) continue;
    ctx.restarts++;
    ctx.waiting = ctx.waiting.filter((c) => c.name !== name);
    await startAgent(name);
  }
}

/** `porthole share --json` prints one line each time it loses the relay and schedules a reconnect. */
const reconnects = (agent: Child) => agent.events().filter((e) => e.event === 'reconnecting').length;

/** The next connection (of agent `name`, or any) with its HELLO read; fails when none comes within 10 s. */
async function nextConnection(name?: string): Promise<Connection> {
  const deadline = Date.now() + 10_000;
  const next = () => ctx.waiting.findIndex((c) => name === undefined || c.name === name);
  while (next() === -1) {
    if (Date.now() > deadline) throw new Error(`no agent ${name ?? ''} connected within 10 s`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500);
      ctx.arrived.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return ctx.waiting.splice(next(), 1)[0];
}

/** A relay's message: frames of the shapes agents meet (OPEN heads of any text), any message at all, or text. */
type Action = { bytes: Buffer } | { text: string };
const stream = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(0x7fffffff, 0xffffffff));
const openFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .record({
      stream,
      method: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'PUT'), token),
      path: fc.oneof(fc.constantFrom('/hello', '/echo', '/headers', '/nocontent', '/bytes?n=70000', '/ws', '*', 'x'), anyText),
      headers: fc.array(fc.tuple(token, anyText), { maxLength: 4 }).map((pairs) => pairs.flat()),
      body: fc.boolean(),
      upgrade: fc.boolean(),
    })
    .map(({ stream: s, ...head }) => encodeRequestHead(s, head)),
  fc
    .tuple(stream, fc.array(anyText, { maxLength: 8 }), fc.constantFrom<BufferEncoding>('latin1', 'utf8'))
    .map(([s, fields, encoding]) => encodeFrame(FrameType.Open, s, Buffer.from(fields.join('\n'), encoding))),
);
const streamFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(stream, fc.uint8Array({ maxLength: 3000 })).map(([s, bytes]) => encodeFrame(FrameType.Data, s, bytes)),
  stream.map((s) => encodeFrame(FrameType.End, s)),
  fc.tuple(stream, fc.constantFrom(1, 65536, 2 ** 31, 0xffffffff)).map(([s, n]) => encodeWindow(s, n)),
  fc
    .tuple(stream, fc.constantFrom('cancelled', 'internal', 'bogus'), anyText)
    .map(([s, code, text]) => encodeJson(FrameType.Reset, s, { code, message: text })),
);
const controlFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constant(encodeJson(FrameType.Welcome, 0, WELCOME)),
  fc.constant(encodeJson(FrameType.GoAway, 0, { reason: 'fuzz' })),
  fc
    .tuple(fc.constantFrom('token', 'bogus'), fc.jsonValue())
    .map(([code, text]) => encodeJson(FrameType.Refuse, 0, { code, message: text })),
);
const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.oneof(openFrame, openFrame, streamFrame), { minLength: 1, maxLength: 4 })
      .map((f) => ({ bytes: Buffer.concat(f) })),
  },
  { weight: 1, arbitrary: controlFrame.map((bytes) => ({ bytes })) },
  { weight: 3, arbitrary: message.map((bytes) => ({ bytes })) },
);
const actions = fc
  .tuple(
    fc.array(action, { minLength: 1, maxLength: 8 }),
    fc.option(
      anyText.map((t) => ({ text: t })),
      { freq: 10 },
    ),
  )
  .map(([list, last]) => (last ? [...list, last] : list))
  // A well-formed REFUSE tells the agent to stop for good: that is no fuzz, it is the protocol.
  .map((list) => list.filter((a) => !('bytes' in a && refuses(a.bytes))));

function refuses(bytes: Buffer): boolean {
  try {
    return decodeFrames(bytes).some((f) => f.type === FrameType.Refuse && f.stream === 0 && checkRefusal(decodeJson<Refusal>(f, 'REFUSE')));
  } catch (error) {
    if (error instanceof ProtocolError) return false;
    throw error;
  }
}

it('each agent lives, still serves a plain request on a connection it kept, and reconnects', async () => {
  let kept = 0;
  await fc.assert(
    fc.asyncProperty(actions, fc.constantFrom(1000, 1001, 4000, 1011, 0), async (list, closeCode) => {
      await agentsAlive();
      const connection = await nextConnection();
      const { ws, frames } = connection;
      const agent = ctx.agents.get(connection.name) as Child;
      const before = reconnects(agent);
      welcome(connection);
      for (const a of list) {
        if (ws.readyState !== WebSocket.OPEN) break;
        ws.send('text' in a ? a.text : a.bytes);
      }
      await handledByPeer(ws);
      if (ws.readyState === WebSocket.OPEN) {
        // A stream id no frame above used: a plain GET the agent must answer as if nothing had happened.
        const id = 0x70000000 + kept++;
        ws.send(Buffer.concat([encodeRequestHead(id, { method: 'GET', path: '/hello', headers: [] }), encodeFrame(FrameType.End, id)]));
        const deadline = Date.now() + 5000;
        while (
          !frames.some((f) => f.stream === id && f.type === FrameType.End) &&
          ws.readyState === WebSocket.OPEN &&
          Date.now() < deadline
        )
          await new Promise((resolve) => setTimeout(resolve, 10));
        if (ws.readyState === WebSocket.OPEN) {
          const answer = frames.filter((f) => f.stream === id);
          assert.equal(
            answer.map((f) => f.type),
            [FrameType.Response, FrameType.Data, FrameType.End],
            'the agent answers a plain request after the fuzz',
          );
          assert.is(answer[1].payload.toString(), 'hello from origin\n');
        }
      }
      // However it ends (the agent may have ended it already), the agent takes it as a lost connection and plans to come back.
      if (closeCode === 0) ws.terminate();
      else ws.close(closeCode, 'next case');
      await waitFor(() => reconnects(agent) > before || agent.process.exitCode !== null, 10_000, 'the agent to notice');
      assert.is(agent.process.exitCode, null, `the agent exited: ${agent.err.slice(-2000)}`);
      return true;
    }),
    runs(50),
  );
  // And each comes back once more: one connection waiting per agent; none had to be started again.
  await waitFor(() => ctx.waiting.length === AGENTS, 10_000, `all ${AGENTS} agents back (${ctx.waiting.length} are)`);
  for (const agent of ctx.agents.values()) assert.is(agent.process.exitCode, null, `an agent exited: ${agent.err.slice(-2000)}`);
  assert.is(ctx.restarts, 0, 'an agent died between cases');
});

it.run();
