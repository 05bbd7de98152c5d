/**
 * The ioredis adapter (relay/cluster/redis.ts) against a real redis-server: scripts by digest (and
 * again after Redis forgot them), SET NX, pub/sub across a restart, fail-fast while Redis is away,
 * up/down events, and a clear error for a Redis that is not there. Fails if ioredis changes under it.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connectRedis, redacted, script, type RedisLink } from '../../relay/cluster/redis';
import { freePort, waitFor, withTimeout } from '../helpers';
import { type RedisServer, redisCommand, startRedis } from './support';

const ctx = {} as { redis: RedisServer; link: RedisLink; events: string[]; logs: string[] };
const test = suite('the Redis adapter', ctx);

test.before(async () => {
  ctx.redis = await startRedis();
  ctx.events = [];
  ctx.logs = [];
  ctx.link = await connectRedis(ctx.redis.url, 'porthole-test', (event) => ctx.logs.push(event));
  ctx.link.on('up', () => ctx.events.push('up'));
  ctx.link.on('down', () => ctx.events.push('down'));
});

test.after(async () => {
  await ctx.link?.close();
  await ctx.redis?.stop();
});

const ADD = script("return redis.call('INCRBY', KEYS[1], ARGV[1])");

test('scripts run by digest, and again after Redis forgot them', async () => {
  assert.is(await ctx.link.run(ADD, ['counter'], [2]), 2);
  assert.is(await redisCommand(ctx.redis.port, 'SCRIPT', 'FLUSH'), '+OK\r\n');
  assert.is(await ctx.link.run(ADD, ['counter'], [3]), 5);
});

test('set, get, SET NX with and without expiry, del', async () => {
  await ctx.link.set('k', 'v', 5000);
  assert.is(await ctx.link.get('k'), 'v');
  assert.is(await ctx.link.setIfAbsent('k', 'other', 5000), false);
  assert.is(await ctx.link.setIfAbsent('fresh', 'x'), true);
  await ctx.link.del('k');
  assert.is(await ctx.link.get('k'), null);
  assert.ok((await ctx.link.memoryUsed()) > 0);
});

test('Redis away: commands fail fast, "down" then "up", subscriptions come back', async () => {
  const heard: string[] = [];
  await ctx.link.subscribe('channel', (message) => heard.push(message));
  await ctx.link.publish('channel', 'before');
  await waitFor(() => heard.includes('before'), 10_000, 'the first message');
  await ctx.redis.stop();
  await waitFor(() => ctx.events.includes('down'), 10_000, 'down');
  assert.is(ctx.link.up, false);
  // It fails while Redis is still away, not queued until it comes back (Redis returns only after).
  const started = Date.now();
  const failure = await withTimeout(
    ctx.link.get('k').then(
      () => undefined,
      (error: Error) => error,
    ),
    15_000,
    'a command to fail while Redis is away',
  );
  assert.ok(failure instanceof Error, 'a command while Redis is away fails');
  console.log(`    a command failed ${Date.now() - started} ms after it was sent while Redis was away`);
  ctx.redis = await startRedis(ctx.redis.port);
  await waitFor(() => ctx.link.up && ctx.events.at(-1) === 'up', 15_000, 'up again');
  await waitFor(
    async () => {
      await ctx.link.publish('channel', 'after');
      return heard.includes('after');
    },
    15_000,
    'a message after the restart',
  );
  assert.ok(ctx.logs.includes('redis.down') && ctx.logs.includes('redis.up'));
});

test('a Redis that is not there: a clear error, with no password in it', async () => {
  const url = `redis://:hunter2@127.0.0.1:${await freePort()}`;
  const error = await connectRedis(url, 'porthole-test', () => undefined, 1500).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(error);
  assert.match(String(error?.message), /Cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/);
  assert.not.match(String(error?.message), /hunter2/);
  assert.is(redacted('redis://:pw@h:1/2'), 'redis://:***@h:1/2');
});

test.run();
