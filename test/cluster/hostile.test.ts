/**
 * Nothing a peer sends ends a node: not a visitor posing as a node with any X-Porthole-* headers, not
 * another node's hop with odd visitor fields, not garbage in Redis (name keys, the node list) or on its
 * channels. Property-based (fast-check) against real nodes; the tunnel answers throughout.
 */
import net from 'node:net';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hopToken } from '../../relay/cluster/hop';
import { type Child, type Origin, share, startOrigin } from '../helpers';
import { type Node, type RedisServer, SECRET, health, redisCommand, startNodes, startRedis, via } from './support';

const ctx = {} as { redis: RedisServer; nodes: Node[]; origin: Origin; agent: Child };
const test = suite('hostile peers of a cluster', ctx);

test.before(async () => {
  ctx.redis = await startRedis();
  ctx.nodes = await startNodes(ctx.redis, 2);
  ctx.origin = await startOrigin();
  ctx.agent = await share([
    String(ctx.origin.port),
    '--relay',
    `http://localhost:${ctx.nodes[0].port}`,
    '--subdomain',
    'alpha',
    '--quiet',
    '--host-header',
    'preserve',
  ]);
});

test.after(async () => {
  await ctx.agent?.stop();
  for (const node of ctx.nodes ?? []) await node.stop();
  await ctx.redis?.stop();
  await ctx.origin?.close();
});

/** Writes a request head as raw latin1 bytes and resolves with the status line's code (0: closed without one). */
function rawRequest(port: number, head: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head, 'latin1'));
    let answer = '';
    socket.setTimeout(8000, () => socket.destroy());
    socket.on('data', (d) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.on('error', () => undefined);
  });
}

async function bothAlive(): Promise<void> {
  for (const node of ctx.nodes) {
    assert.is(node.process.exitCode, null, `node ${node.port} exited: ${node.err.slice(-500)}`);
    assert.is((await via(node.port, 'alpha', { path: '/hello' })).status, 200);
  }
}

/** Header text a peer may send: anything but CR, LF and NUL, which would end or break the head. */
const fieldText = fc
  .string({ unit: 'binary', maxLength: 60 })
  .map((s) => [...s].map((c) => (c.charCodeAt(0) > 0xff || '\r\n\0'.includes(c) ? '?' : c)).join(''));

test('visitors posing as nodes, and hops with odd visitor fields: 403 or an answer, never a crash', async () => {
  const token = hopToken(SECRET);
  const seenBefore = ctx.origin.seen.length;
  let forgedServed = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fieldText, fc.constant(token)),
      fieldText,
      fieldText,
      fc.constantFrom('alpha', 'nobody', ''),
      async (hop, client, proto, name) => {
        const node = ctx.nodes[1];
        const head = `GET /hello HTTP/1.1\r\nHost: ${name}.localhost:${node.port}\r\nX-Porthole-Hop: ${hop}\r\nX-Porthole-Client: ${client}\r\nX-Porthole-Proto: ${proto}\r\nConnection: close\r\n\r\n`;
        const status = await rawRequest(node.port, head);
        const genuine = hop === token && (proto === 'http' || proto === 'https');
        if (!genuine && status !== 403 && status !== 400) forgedServed++;
        return status !== 0;
      },
    ),
    { numRuns: 60 },
  );
  assert.is(forgedServed, 0);
  // Only genuine hops for alpha reach the local server (each a GET /hello).
  assert.ok(ctx.origin.seen.slice(seenBefore).every((h) => String(h['x-forwarded-host']).startsWith('alpha.')));
  await bothAlive();
});

test('garbage in Redis and on its channels: requests get a page, nodes keep serving', async () => {
  const junk = fc.string({ unit: 'binary', maxLength: 80 });
  const samples = fc.sample(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,10}$/), junk, junk), 20);
  for (const [name, value, other] of samples) {
    if (name === 'alpha') continue;
    await redisCommand(ctx.redis.port, 'SET', `porthole:name:${name}`, value);
    await redisCommand(ctx.redis.port, 'HSET', 'porthole:nodes', other, value);
    await redisCommand(ctx.redis.port, 'PUBLISH', 'porthole:names', `${value} ${other}`);
    await redisCommand(ctx.redis.port, 'PUBLISH', 'porthole:nodes:changed', other);
  }
  const statuses = await Promise.all(
    samples.map(([name]) =>
      via(ctx.nodes[1].port, name, { path: '/hello', timeout: 10_000 }).then(
        (r) => r.status,
        (e: Error) => `${name}: ${e.message} ${ctx.nodes[1].err.slice(-800)}`,
      ),
    ),
  );
  assert.ok(
    statuses.every((s) => typeof s === 'number' && [200, 404, 503].includes(s)),
    statuses.join(' '),
  );
  await bothAlive();
  assert.is((await health(ctx.nodes[0].port)).ok, true);
});

test.run();
