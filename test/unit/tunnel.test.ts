/** The multiplexed tunnel over a real WebSocket pair on loopback: flow control, batching, limits. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import WebSocket, { WebSocketServer } from 'ws';
import {
  DATA_FRAME_BYTES,
  FrameType,
  INITIAL_WINDOW,
  MAX_FRAME_PAYLOAD,
  encodeFrame,
  type Frame,
  type RequestHead,
} from '../../core/protocol';
import type { Masking } from '../../core/messageWriter';
import type { TunnelStream } from '../../core/stream';
import { Tunnel } from '../../core/tunnel';
import { frameSocket } from '../../core/wsSocket';
import { handledByPeer, waitFor, withTimeout } from '../helpers';

const head: RequestHead = { method: 'POST', path: '/', headers: [], body: true };
const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Client options for the agent's masking: a zero key stands for agents that skip masking on loopback. */
const zeroKey = (masking: Masking): WebSocket.ClientOptions =>
  masking === 'zero-key'
    ? {
        generateMask: (mask: Buffer) => {
          mask.fill(0);
        },
      }
    : {};

/** A relay-side Tunnel and a client WebSocket connected to it, wrapped in an agent-side Tunnel. */
async function pair(
  onOpen?: (stream: TunnelStream, head: RequestHead) => void,
  agentMasking: Masking = 'random-key',
  control: { agent?: (frame: Frame) => void; relay?: (frame: Frame) => void } = {},
) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, zeroKey(agentMasking));
  pairs.push({ client, wss });
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const closed: { code?: number; reason?: string } = {};
  const faults: { side: 'agent' | 'relay'; error: unknown; stream?: number }[] = [];
  const agent = new Tunnel(
    client,
    {
      control: control.agent ?? (() => undefined),
      open: onOpen,
      closed: (code, reason) => Object.assign(closed, { code, reason }),
      fault: (error, stream) => faults.push({ side: 'agent', error, stream }),
    },
    { masking: agentMasking },
  );
  await new Promise((resolve) => client.once('open', resolve));
  const relaySocket = await serverSide;
  const relayClosed: { code?: number; reason?: string } = {};
  const relay = new Tunnel(
    relaySocket,
    {
      control: control.relay ?? (() => undefined),
      closed: (code, reason) => Object.assign(relayClosed, { code, reason }),
      fault: (error, stream) => faults.push({ side: 'relay', error, stream }),
    },
    { masking: 'none' },
  );
  return {
    relay,
    agent,
    client,
    faults,
    relayClosed,
    closed,
  };
}

const it = suite('tunnel');
/** Every pair a test made is closed after it, however the test ended: a pair left open keeps the run alive. */
const pairs: { client: WebSocket; wss: WebSocketServer }[] = [];
it.after.each(async () => {
  for (const { client, wss } of pairs.splice(0)) {
    client.terminate();
    for (const peer of wss.clients) peer.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});

it('credit windows: a sender stops at the window and resumes as the receiver consumes', async () => {
  const received: Buffer[] = [];
  const arrived = () => received.reduce((n, b) => n + b.length, 0);
  /** Credit the receiver has returned so far; the sender may have sent the window beyond it, never more. */
  let consumed = 0;
  let overrun = 0;
  let ended = false;
  let agentStream!: TunnelStream;
  const t = await pair((stream) => {
    agentStream = stream;
    stream.onData = (chunk) => {
      received.push(Buffer.from(chunk));
      overrun = Math.max(overrun, arrived() - (consumed + INITIAL_WINDOW));
    };
    stream.onEnd = () => {
      ended = true;
    };
  });
  const stream = t.relay.openStream(head);
  const total = 3 * INITIAL_WINDOW;
  const source = Buffer.alloc(total);
  for (let i = 0; i < total; i++) source[i] = i % 251;
  let writable = true;
  let offset = 0;
  while (writable && offset < total) {
    writable = stream.write(source.subarray(offset, offset + 64 * 1024));
    offset += 64 * 1024;
  }
  assert.is(offset, INITIAL_WINDOW, 'write() says stop once the window is spent');
  await waitFor(() => arrived() >= INITIAL_WINDOW, 10_000, 'the first window to arrive');
  await handledByPeer(t.relay.ws);
  assert.is(arrived(), INITIAL_WINDOW, 'nothing beyond the window is in flight');

  let resumed = 0;
  stream.onWritable = () => {
    resumed++;
  };
  agentStream.consumed(INITIAL_WINDOW);
  consumed = INITIAL_WINDOW;
  await waitFor(() => resumed > 0, 10_000, 'the sender to be told it may resume');
  stream.write(source.subarray(offset));
  stream.end();
  // The receiver returns credit for what has arrived, a little at a time, until the stream ends.
  await waitFor(
    () => {
      if (arrived() > consumed) {
        agentStream.consumed(arrived() - consumed);
        consumed = arrived();
      }
      return ended;
    },
    30_000,
    'the rest of the body as credit comes back',
    10,
  );
  assert.is(overrun, 0, 'never more in flight than the window');
  assert.ok(Buffer.concat(received).equals(source), 'every byte arrives, in order');
});

it('frames queued in one turn of the event loop leave as one WebSocket message', async () => {
  let opened = 0;
  const t = await pair(() => {
    opened++;
  });
  let messages = 0;
  t.client.on('message', () => {
    messages++;
  });
  for (let i = 0; i < 10; i++) t.relay.openStream({ method: 'GET', path: `/${i}`, headers: [] }).end();
  await waitFor(() => opened === 10, 10_000, 'the ten streams to reach the agent');
  assert.is(messages, 1);
});

for (const agentMasking of ['zero-key', 'random-key'] as const) {
  it(`bodies leave as DATA_FRAME_BYTES frames, each its own message, intact both ways (agent masking: ${agentMasking})`, async () => {
    const sizes = [10, 200_000, 3, 70_000, 16 * 1024, 16 * 1024 - 1, 100];
    const bodies = sizes.map((size, n) => Buffer.alloc(size, n + 1));
    const expected = Buffer.concat(bodies);
    const toAgent: Buffer[] = [];
    const toRelay: Buffer[] = [];
    const t = await pair((stream) => {
      stream.onData = (chunk) => toAgent.push(Buffer.from(chunk));
      stream.onEnd = () => {
        for (const body of bodies) stream.write(body);
        stream.end();
      };
    }, agentMasking);
    const messageSizes: number[] = [];
    t.client.on('message', (data: Buffer) => {
      messageSizes.push(data.length);
    });
    const relayStream = t.relay.openStream(head);
    relayStream.onData = (chunk) => toRelay.push(Buffer.from(chunk));
    const answered = new Promise<void>((resolve) => {
      relayStream.onEnd = resolve;
    });
    for (const body of bodies) relayStream.write(body);
    relayStream.end();
    await withTimeout(answered, 30_000, 'the echo');
    assert.ok(Buffer.concat(toAgent).equals(expected), 'relay → agent: every byte, in order');
    assert.ok(Buffer.concat(toRelay).equals(expected), 'agent → relay: every byte, in order');
    const largest = Math.max(...messageSizes);
    assert.ok(largest < 2 * DATA_FRAME_BYTES, `messages stay near one DATA frame, not a whole batch (largest: ${largest} bytes)`);
  });
}

it('a peer that overruns a stream window is disconnected with a reason', async () => {
  const t = await pair();
  const stream = t.relay.openStream(head);
  stream.onData = () => undefined; // a consumer that never takes anything
  const full = Buffer.concat(
    Array.from({ length: INITIAL_WINDOW / MAX_FRAME_PAYLOAD }, () =>
      encodeFrame(FrameType.Data, stream.id, Buffer.alloc(MAX_FRAME_PAYLOAD)),
    ),
  );
  t.client.send(full);
  t.client.send(encodeFrame(FrameType.Data, stream.id, Buffer.alloc(1)));
  const { code, reason } = await new Promise<{ code: number; reason: string }>((resolve) =>
    t.client.on('close', (c, r) => resolve({ code: c, reason: r.toString() })),
  );
  assert.is(code, 1002);
  assert.match(reason, /stream 1 overran its flow-control window/);
});

it('a peer that stops reading: writers pause at the connection limit, not after every stream has filled its window', async () => {
  const t = await pair();
  frameSocket(t.client)?.pause();
  const streams = Array.from({ length: 32 }, () => t.relay.openStream(head));
  const paused = new Set<TunnelStream>();
  for (const stream of streams) stream.onWritable = () => paused.delete(stream);
  const chunk = Buffer.alloc(64 * 1024, 1);
  let accepted = 0;
  for (let round = 0; round < 40; round++) {
    // Well-behaved sources, like pipeReadable: write until told to pause, then wait for onWritable.
    for (const stream of streams) {
      if (paused.has(stream)) continue;
      accepted += chunk.length;
      if (!stream.write(chunk)) paused.add(stream);
    }
    await tick(5);
  }
  const buffered = t.relay.ws.bufferedAmount;
  assert.ok(accepted < 16 * 1024 * 1024, `writers kept going for ${accepted} bytes`);
  assert.ok(
    buffered < 16 * 1024 * 1024,
    `${buffered} bytes buffered for a peer that reads nothing (32 windows would be ${32 * INITIAL_WINDOW})`,
  );
});

it("a finished stream lets go of its owner's callbacks, so a stale reference to it retains nothing", async () => {
  const t = await pair((stream) => {
    stream.onEnd = () => stream.end();
  });
  const stream = t.relay.openStream({ method: 'GET', path: '/', headers: [] });
  // The owner's state is reachable only through the callbacks, as a public response is in the relay.
  let ownerRef!: WeakRef<object>;
  const ended = new Promise<void>((resolve) => {
    const owner = { response: Buffer.alloc(64 * 1024) };
    stream.onEnd = () => {
      owner.response.fill(1);
      resolve();
    };
    stream.onReset = () => owner.response.fill(0);
    ownerRef = new WeakRef(owner);
  });
  stream.end();
  await ended;
  await tick();
  collectGarbage();
  assert.ok(stream.isDone);
  assert.is(ownerRef.deref(), undefined, 'the owner is collectable while the stream object is still referenced');
});

it('closing the tunnel resets every open stream', async () => {
  const t = await pair();
  const resets: string[] = [];
  for (let i = 0; i < 3; i++) t.relay.openStream(head).onReset = (r) => resets.push(r.code);
  t.client.terminate();
  await waitFor(() => resets.length === 3, 10_000, 'the streams to be reset');
  assert.equal(resets, ['cancelled', 'cancelled', 'cancelled']);
  assert.is(t.relay.streams.size, 0);
});

const closeOf = (ws: WebSocket) =>
  new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );

it("an exception in a stream owner's callback resets that stream alone; the tunnel and its other streams carry on", async () => {
  const agentResets: [number, string][] = [];
  const t = await pair((stream) => {
    stream.onReset = (reset) => agentResets.push([stream.id, reset.code]);
    stream.onEnd = () => stream.sendResponse({ status: 200, headers: [] });
  });
  const doomed = t.relay.openStream(head);
  const fine = t.relay.openStream(head);
  doomed.onResponse = () => {
    throw new TypeError('a library refused what the peer sent');
  };
  const resets: string[] = [];
  doomed.onReset = (reset) => resets.push(reset.message);
  const answered = new Promise<number>((resolve) => {
    fine.onResponse = (response) => resolve(response.status);
  });
  doomed.end();
  fine.end();
  assert.is(await answered, 200, 'the other stream got its answer');
  await waitFor(() => agentResets.length > 0, 10_000, 'the agent to hear of the reset');
  assert.ok(doomed.isDone);
  assert.equal(agentResets, [[doomed.id, 'internal']], 'the peer is told the stream is over');
  assert.equal(resets, ['internal error: a library refused what the peer sent'], 'the owner hears of it as a reset');
  assert.equal(
    t.faults.map((f) => [f.side, f.stream, (f.error as Error).message]),
    [['relay', doomed.id, 'a library refused what the peer sent']],
  );
  assert.ok(t.relay.isOpen && t.agent.isOpen, 'the tunnel lives on');
});

it('an exception outside any stream closes the connection with 1011 and is reported', async () => {
  const t = await pair(undefined, 'random-key', {
    relay: () => {
      throw new RangeError('nobody foresaw this');
    },
  });
  const closed = closeOf(t.client);
  t.client.send(encodeFrame(FrameType.GoAway, 0, Buffer.from('{}')));
  assert.equal(await closed, { code: 1011, reason: 'internal error: nobody foresaw this' });
  assert.equal(
    t.faults.map((f) => [f.side, f.stream, (f.error as Error).message]),
    [['relay', undefined, 'nobody foresaw this']],
  );
});

it('a close reason quoting what the peer sent is cut to the 123 bytes a close frame holds, at a character boundary', async () => {
  const t = await pair();
  const stream = t.relay.openStream(head);
  const closed = closeOf(t.client);
  t.client.send(encodeFrame(FrameType.Response, stream.id, Buffer.from(`200\n\n${'ÿ'.repeat(40)}\nx`, 'latin1')));
  const { code, reason } = await closed;
  assert.is(code, 1002);
  assert.match(reason, /^malformed frame: RESPONSE on stream 1 has an invalid header "ÿÿ.*…$/);
  assert.ok(Buffer.byteLength(reason) <= 123, `${Buffer.byteLength(reason)} bytes`);
  assert.match(t.relayClosed.reason ?? '', /ÿ{40}/, 'this side keeps the whole reason for its log');
});

it.run();
