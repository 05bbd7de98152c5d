/**
 * Redis trouble is survivable: with Redis stopped every node keeps serving the tunnels connected to it,
 * answers for other nodes' tunnels with a clear 503 page, and grants no new name (an agent is told to
 * try again later, and does, for as long as it takes); when Redis comes back empty, the nodes re-claim
 * what they hold within seconds and cross-node requests answer again, the waiting agent gets its
 * tunnel, and a returning name cannot go to another agent first.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type Child, type Origin, disposeAfterEach, exitWithin, run, root, share, startOrigin, waitFor } from '../helpers';
import { type Node, type RedisServer, health, hello, startNodes, startRedis, via } from './support';
import path from 'node:path';

const ctx = {} as { redis: RedisServer; nodes: Node[]; origin: Origin; agents: Child[]; patient?: Child };
const test = suite('Redis trouble', ctx);
const later = disposeAfterEach(test);

test.before(async () => {
  ctx.redis = await startRedis();
  ctx.nodes = await startNodes(ctx.redis, 3);
  ctx.origin = await startOrigin();
  ctx.agents = [];
  for (const [i, name] of ['alpha', 'beta'].entries()) {
    ctx.agents.push(
      await share([String(ctx.origin.port), '--relay', `http://localhost:${ctx.nodes[i].port}`, '--subdomain', name, '--quiet']),
    );
  }
});

test.after(async () => {
  await ctx.patient?.stop();
  for (const agent of ctx.agents ?? []) await agent.stop();
  for (const node of ctx.nodes ?? []) await node.stop();
  await ctx.redis?.stop();
  await ctx.origin?.close();
});

const status = (node: Node, name: string) =>
  via(node.port, name, { path: '/hello', timeout: 5000 }).then(
    (r) => r.status,
    () => 0,
  );

test('Redis stopped: local tunnels keep answering, others get a clear 503, no new names', async () => {
  const [a, b, c] = ctx.nodes;
  await ctx.redis.stop();
  await waitFor(async () => (await via(b.port, 'alpha', { path: '/hello' })).status === 503, 15_000, 'the node to notice');
  for (let i = 0; i < 10; i++) {
    assert.is(await status(a, 'alpha'), 200);
    assert.is(await status(b, 'beta'), 200);
  }
  const page = await via(c.port, 'alpha', { path: '/hello' });
  assert.is(page.status, 503);
  assert.match(page.body.toString(), /cannot reach the cluster.{1,8}s shared state \(Redis\)/);
  assert.ok((await health(c.port)).ok);
  const newcomer = await hello(c.port, 'newcomer', 'newcomers-own-secret-1');
  assert.is(newcomer.type, 'closed');
  assert.is(newcomer.body.code, 1013);
  assert.match(String(newcomer.body.reason), /cannot reach Redis/);
  // Every beat fails while Redis is away: one line a minute says so, not one a second.
  for (const node of ctx.nodes) {
    const beats = () => node.log().filter((e) => e.event === 'cluster.beat-failed');
    await waitFor(() => beats().length > 0, 5000, `node ${node.port} to say its beats fail`);
    assert.is(beats().length, 1, JSON.stringify(beats()));
  }
});

test('an agent told to try again later keeps trying past the attempts a down relay gets, saying why', async () => {
  const patient = run([
    path.join(root, 'dist/cli.js'),
    'share',
    String(ctx.origin.port),
    '--relay',
    `http://localhost:${ctx.nodes[2].port}`,
    '--subdomain',
    'patient',
    '--json',
  ]);
  ctx.patient = patient;
  // A relay that is down gets 5 attempts; "try again later" does not count, so a 5th wait follows the 5th attempt.
  await waitFor(
    () => {
      if (patient.process.exitCode !== null) throw new Error(`the agent gave up: ${patient.err}`);
      return patient.events().some((e) => e.event === 'connecting' && Number(e.attempt) >= 5);
    },
    60_000,
    'a fifth attempt answered "try again later"',
  );
  const retries = patient.events().filter((e) => e.event === 'connecting');
  for (const retry of retries)
    assert.match(String(retry.reason), /^the relay said to try again later: the relay cluster cannot reach Redis/);
  assert.not.ok(
    patient.events().some((e) => e.event === 'reconnecting'),
    'never live: connecting, not reconnecting',
  );
});

test('Redis restarted empty: cross-node requests answer again within seconds, and a returning name is not given away', async () => {
  const [a, b, c] = ctx.nodes;
  ctx.redis = await startRedis(ctx.redis.port);
  const started = Date.now();
  // A newcomer asks for alpha at once: alpha's node re-claims it first.
  const thief = later(
    run([
      path.join(root, 'dist/cli.js'),
      'share',
      String(ctx.origin.port),
      '--relay',
      `http://localhost:${c.port}`,
      '--subdomain',
      'alpha',
      '--json',
    ]),
    (child) => child.stop(),
  );
  await waitFor(
    async () => (await status(b, 'alpha')) === 200 && (await status(c, 'alpha')) === 200 && (await status(a, 'beta')) === 200,
    30_000,
    'alpha and beta through every node',
  );
  console.log(`    alpha and beta answer through every node ${Date.now() - started} ms after Redis came back`);
  const patient = ctx.patient;
  assert.ok(patient);
  // Its next try comes at most 30 s after the last (the longest backoff).
  await waitFor(() => patient.events().find((e) => e.event === 'ready'), 45_000, 'the waiting agent to come up');
  assert.is(await status(a, 'patient'), 200);
  const exit = await exitWithin(thief, 30_000);
  assert.ok(exit !== 'timeout' && exit !== 0, `the newcomer got alpha (${exit})`);
  assert.match(thief.out, /already taken/);
  await waitFor(async () => (await health(a.port)).cluster?.nodes === 3, 15_000, 'every node back in the list').catch((error: Error) => {
    throw new Error(`${error.message}; logs: ${ctx.nodes.map((n) => n.err.split('\n').slice(-8).join('\n')).join('\n---\n')}`);
  });
});

test.run();
