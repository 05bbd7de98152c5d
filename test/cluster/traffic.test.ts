/**
 * Three `node relay --redis` processes on one Redis: a tunnel connected to one node answers through
 * every node (GET, 20 MiB each way, a WebSocket, SSE), names are cluster-wide, two tunnels never answer
 * for each other, X-Forwarded-* come from the node the visitor reached, and the internal hop needs the
 * cluster secret.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { type Child, type Origin, exitWithin, request, sha256, share, startOrigin, stepEvents, waitFor } from '../helpers';
import { type Node, type RedisServer, health, hello, holderOf, startNode, startNodes, startRedis, via } from './support';

const ADMIN = 'cluster-admin-token';
const ctx = {} as { redis: RedisServer; nodes: Node[]; origin: Origin; alpha: Child; beta: Child; owner: Node; others: Node[] };
const test = suite('a cluster of three relays', ctx);

test.before(async () => {
  ctx.redis = await startRedis();
  ctx.nodes = await startNodes(ctx.redis, 3, ['--admin-token', ADMIN]);
  ctx.origin = await startOrigin();
  const [a, b] = ctx.nodes;
  // The agents pass the public Host and X-Forwarded-Host on (--host-header preserve): the tests read them at the origin.
  ctx.alpha = await share([
    String(ctx.origin.port),
    '--relay',
    `http://localhost:${a.port}`,
    '--subdomain',
    'alpha',
    '--quiet',
    '--host-header',
    'preserve',
  ]);
  ctx.owner = await holderOf(ctx.nodes);
  ctx.others = ctx.nodes.filter((n) => n !== ctx.owner);
  ctx.beta = await share([
    String(ctx.origin.port),
    '--relay',
    `http://localhost:${b.port}`,
    '--subdomain',
    'beta',
    '--quiet',
    '--host-header',
    'preserve',
  ]);
});

test.after(async () => {
  await ctx.alpha?.stop();
  await ctx.beta?.stop();
  for (const node of ctx.nodes ?? []) await node.stop();
  await ctx.redis?.stop();
  await ctx.origin?.close();
});

test('health names the node and counts the cluster', async () => {
  const h = await waitFor(
    async () => {
      const answer = await health(ctx.owner.port);
      return answer.cluster?.tunnels === 2 && answer;
    },
    15_000,
    'both tunnels counted cluster-wide',
  );
  assert.equal(h.cluster, { nodes: 3, tunnels: 2 });
  assert.is(h.ok, true);
  assert.is(h.node, `http://127.0.0.1:${ctx.owner.port}`);
  assert.is(h.tunnels, 1);
});

test('a GET through every node', async () => {
  for (const node of ctx.nodes) {
    const reply = await via(node.port, 'alpha', { path: '/hello' });
    assert.is(reply.status, 200, `via ${node.port}`);
    assert.is(reply.body.toString(), 'hello from origin\n');
  }
});

test('20 MiB down and up through a node that does not hold the tunnel, SHA-256 equal', async () => {
  const size = 20 * 1024 * 1024;
  const [other] = ctx.others;
  const down = await via(other.port, 'alpha', { path: `/bytes?n=${size}`, timeout: 60_000 });
  assert.is(down.status, 200);
  assert.is(down.body.length, size);
  const expected = createHash('sha256');
  const chunk = Buffer.alloc(64 * 1024, 'porthole-');
  for (let left = size; left > 0; left -= chunk.length) expected.update(chunk.subarray(0, Math.min(left, chunk.length)));
  assert.is(sha256(down.body), expected.digest('hex'));
  const body = randomBytes(size);
  const up = await via(other.port, 'alpha', { path: '/sha', method: 'POST', body, timeout: 60_000 });
  assert.equal(JSON.parse(up.body.toString()), { bytes: size, sha256: sha256(body) });
});

test('Expect: 100-continue through another node: the visitor is told to send its body', async () => {
  const [other] = ctx.others;
  const body = Buffer.from('a body sent only after 100 Continue');
  const answer = await new Promise<string>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: other.port,
      method: 'POST',
      path: '/echo',
      headers: { host: `alpha.localhost:${other.port}`, expect: '100-continue', 'content-length': body.length },
      timeout: 5000,
    });
    req.on('continue', () => req.end(body));
    req.on('timeout', () => req.destroy(new Error('no 100 Continue within 5 s')));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
  });
  assert.is(answer, body.toString());
});

test('a WebSocket echo through another node', async () => {
  const [, other] = ctx.others;
  const ws = new WebSocket(`ws://127.0.0.1:${other.port}/ws`, { headers: { host: `alpha.localhost:${other.port}` } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const messages = ['hello', 'x'.repeat(100_000), 'é→✓'];
  for (const text of messages) {
    const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(data.toString())));
    ws.send(text);
    assert.is(await echoed, text);
  }
  ws.close();
});

test('server-sent events through another node: each arrives before the next is sent', async () => {
  const [other] = ctx.others;
  let text = '';
  const ended = new Promise<void>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: other.port, path: '/sse/held?id=cluster', headers: { host: `alpha.localhost:${other.port}` } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', resolve);
      },
    );
    req.on('error', reject);
  });
  await stepEvents(ctx.origin, 'cluster', () => text);
  await ended;
  assert.is(text.match(/data: tick/g)?.length, 5);
});

test('X-Forwarded-* are set once, by the node the visitor reached; a visitor cannot pose as a node', async () => {
  const [other] = ctx.others;
  const reply = await via(other.port, 'alpha', {
    path: '/headers',
    headers: { 'x-forwarded-for': '6.6.6.6', 'x-porthole-client': '6.6.6.6', 'x-porthole-proto': 'https' },
  });
  const seen = JSON.parse(reply.body.toString());
  assert.is(seen['x-forwarded-for'], '127.0.0.1');
  assert.is(seen['x-forwarded-proto'], 'http');
  assert.is(seen['x-forwarded-host'], `alpha.localhost:${other.port}`);
  assert.equal(
    Object.keys(seen).filter((name) => name.startsWith('x-porthole')),
    [],
  );
});

test('the internal hop without the cluster secret: 403, and nothing reaches the tunnel', async () => {
  const before = ctx.origin.seen.length;
  for (const node of ctx.nodes) {
    const forged = await via(node.port, 'alpha', {
      path: '/hello',
      headers: { 'x-porthole-hop': 'guess', 'x-porthole-client': '6.6.6.6', 'x-porthole-proto': 'http' },
    });
    assert.is(forged.status, 403);
    assert.match(forged.body.toString(), /cluster secret/);
  }
  assert.is(ctx.origin.seen.length, before);
});

test('a name held on one node is refused on every other, with the usual message', async () => {
  for (const node of ctx.others) {
    const thief = await hello(node.port, 'alpha', 'another-agents-secret-123');
    assert.is(thief.type, 'refuse');
    assert.is(thief.body.code, 'taken');
    assert.match(String(thief.body.message), /The subdomain "alpha" is already taken: it is in use/);
  }
  const cli = await share([String(ctx.origin.port), '--relay', `http://localhost:${ctx.others[1].port}`, '--subdomain', 'alpha']).catch(
    (error: Error) => error,
  );
  assert.ok(cli instanceof Error && /already taken/.test(cli.message), String(cli));
});

test('two tunnels on different nodes never answer for each other (300 alternating requests through every node)', async () => {
  const wrong: string[] = [];
  for (let i = 0; i < 300; i++) {
    const node = ctx.nodes[i % 3];
    const name = i % 2 ? 'alpha' : 'beta';
    const reply = await via(node.port, name, { path: '/headers' });
    const host = JSON.parse(reply.body.toString())['x-forwarded-host'];
    if (reply.status !== 200 || host !== `${name}.localhost:${node.port}`) wrong.push(`${i}: ${reply.status} ${host}`);
  }
  assert.equal(wrong, []);
});

test('an agent coming back to another node gets its name back; the old node lets it go', async () => {
  const resume = 'the-wanderers-own-secret';
  const first = await hello(ctx.nodes[0].port, 'wanderer', resume);
  assert.is(first.type, 'welcome');
  first.ws.terminate(); // no clean close: the name waits for its agent
  const back = await hello(ctx.nodes[2].port, 'wanderer', resume);
  assert.is(back.type, 'welcome');
  assert.is(back.body.subdomain, 'wanderer');
  assert.is(back.body.url, `http://wanderer.localhost:${ctx.nodes[2].port}`);
  // The first node no longer holds it, so another agent is told it is in use on the other node.
  const thief = await hello(ctx.nodes[0].port, 'wanderer', 'not-the-wanderers-secret');
  assert.is(thief.body.code, 'taken');
  back.ws.close(1000);
  const next = await waitFor(
    async () => {
      const greeting = await hello(ctx.nodes[1].port, 'wanderer', 'a-new-agent-after-the-clean-close');
      if (greeting.type === 'welcome') return greeting;
      greeting.ws.close();
    },
    15_000,
    'the name freed cluster-wide by a clean close',
  );
  next.ws.close(1000);
});

test('metrics say which node and count the cluster', async () => {
  const reply = await request(ctx.others[0].port, `localhost:${ctx.others[0].port}`, {
    path: '/_porthole/metrics',
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  const text = reply.body.toString();
  assert.match(text, new RegExp(`porthole_cluster_node\\{id="[^"]+",node="http://127.0.0.1:${ctx.others[0].port}"\\} 1`));
  assert.match(text, /porthole_cluster_nodes 3/);
  assert.match(text, /porthole_cluster_redis_up 1/);
  assert.match(text, /porthole_cluster_forwarded_total [1-9]\d*/);
  assert.match(text, /porthole_cluster_forward_errors_total 0/);
});

test('log lines say which node wrote them, with the port it bound (--http-port 0)', async () => {
  const connected = ctx.owner.log().find((e) => e.event === 'agent.connected' && e.tunnel === 'alpha');
  assert.is(connected?.node, `http://127.0.0.1:${ctx.owner.port}`);
  const picked = await startNode(ctx.redis, { port: 0 });
  try {
    const url = `http://127.0.0.1:${picked.port}`;
    assert.ok(picked.port > 0);
    const [listening] = picked.log().filter((e) => e.event === 'relay.listening');
    assert.is(listening.node, url);
    assert.is((await health(picked.port)).node, url);
  } finally {
    await picked.stop();
  }
});

test('a node stopped with SIGTERM leaves the list at once', async () => {
  const [, , last] = ctx.nodes;
  await last.stop();
  assert.is(await exitWithin(last, 0), 0);
  assert.is((await health(ctx.nodes[0].port)).cluster?.nodes, 2);
});

test.run();
