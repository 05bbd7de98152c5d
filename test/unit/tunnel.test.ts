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
import { waitFor } from '../wait.cjs';

const head: RequestHead = { method: 'POST', path: '/', headers: [], body: true };
const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** A relay-side Tunnel and a client WebSocket connected to it, wrapped in an agent-side Tunnel. */
async function pair(
  onOpen?: (stream: TunnelStream, head: RequestHead) => void,
  agentMasking: Masking = 'random-key',
  control: { agent?: (frame: Frame) => void; relay?: (frame: Frame) => void } = {},
) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const zeroKey =
    agentMasking === 'zero-key'
      ? {
          generateMask: (mask: Buffer) => {
            mask.fill(0);
          },
        }
      : {};
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, zeroKey);
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
    done: () => {
      client.terminate();
      wss.close();
    },
  };
}

const it = suite('tunnel');

it('credit windows: a sender stops at the window and resumes as the receiver consumes', async () => {
  const received: Buffer[] = [];
  let agentStream!: TunnelStream;
  const t = await pair((stream) => {
    agentStream = stream;
    stream.onData = (chunk) => received.push(Buffer.from(chunk));
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
  const arrived = () => received.reduce((n, b) => n + b.length, 0);
  await waitFor(() => arrived() >= INITIAL_WINDOW, 5000, 'the first window to arrive');
  await tick(100);
  assert.is(
    received.reduce((n, b) => n + b.length, 0),
    INITIAL_WINDOW,
    'nothing beyond the window is in flight',
  );

  let resumed = 0;
  stream.onWritable = () => {
    resumed++;
  };
  agentStream.consumed(INITIAL_WINDOW);
  await tick(100);
  assert.ok(resumed > 0, 'the sender is told it may resume');
  stream.write(source.subarray(offset));
  stream.end();
  const ended = new Promise<void>((resolve) => {
    agentStream.onEnd = resolve;
  });
  let granted = INITIAL_WINDOW;
  const deadline = Date.now() + 10_000;
  while (received.reduce((n, b) => n + b.length, 0) < total && Date.now() < deadline) {
    const arrived = received.reduce((n, b) => n + b.length, 0);
    if (arrived > granted) agentStream.consumed(arrived - granted);
    granted = Math.max(granted, arrived);
    assert.ok(arrived - granted <= INITIAL_WINDOW, 'never more in flight than the window');
    await tick(10);
  }
  await ended;
  assert.ok(Buffer.concat(received).equals(source), 'every byte arrives, in order');
  t.done();
});

it('frames queued in one turn of the event loop leave as one WebSocket message', async () => {
  const t = await pair();
  let messages = 0;
  t.client.on('message', () => {
    messages++;
  });
  for (let i = 0; i < 10; i++) t.relay.openStream({ method: 'GET', path: `/${i}`, headers: [] }).end();
  await tick(50);
  assert.is(messages, 1);
  t.done();
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
    try {
      await Promise.race([answered, tick(5000).then(() => assert.unreachable('the echo did not come back within 5 s'))]);
    } finally {
      t.done();
    }
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
  t.done();
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
  t.done();
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
  t.done();
});

it('closing the tunnel resets every open stream', async () => {
  const t = await pair();
  const resets: string[] = [];
  for (let i = 0; i < 3; i++) t.relay.openStream(head).onReset = (r) => resets.push(r.code);
  t.client.terminate();
  await tick(100);
  assert.equal(resets, ['cancelled', 'cancelled', 'cancelled']);
  assert.is(t.relay.streams.size, 0);
  t.done();
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
  await tick(50);
  assert.ok(doomed.isDone);
  assert.equal(agentResets, [[doomed.id, 'internal']], 'the peer is told the stream is over');
  assert.equal(resets, ['internal error: a library refused what the peer sent'], 'the owner hears of it as a reset');
  assert.equal(
    t.faults.map((f) => [f.side, f.stream, (f.error as Error).message]),
    [['relay', doomed.id, 'a library refused what the peer sent']],
  );
  assert.ok(t.relay.isOpen && t.agent.isOpen, 'the tunnel lives on');
  t.done();
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
  t.done();
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
  t.done();
});

it.run();
