/**
 * One address cannot lock everyone out: a flood of slow connections from 127.0.0.1 against a real
 * relay process (loopback is a /8, so other "addresses" are 127.0.0.2 and on), and the global cap
 * with its reserve for agents and the relay's own pages.
 */
import * as assert from 'uvu/assert';
import http from 'node:http';
import { agent, freePort, originSuite, relay, request, startRelayProcess, waitFor } from '../helpers';
import { type BareAgent, bareAgent, metric, relayHolds, slowClients, statusVia, type SlowClient } from './limitsSupport';

const { it, ctx, later } = originSuite('connection limits');

/** Slow clients keep their slots and agents their connections as long as a test on a loaded machine needs. */
const PATIENT = { headTimeoutMs: 300_000, heartbeatMs: 300_000 };
const PER_ADDRESS = 256; // the default of --max-connections-per-ip
const FLOOD = 2_000;

it('a flood from one address: another visitor is served while it holds, an agent still connects, the flooder gets 429', async () => {
  const port = await freePort();
  // Head timeout and heartbeat long enough to outlast the test however slow the machine: the flood
  // must hold its slots throughout, and the agent must not reconnect (its retries would be refusals too).
  const relayProcess = later(
    await startRelayProcess(['--http-port', String(port), '--admin-token', 'admin-secret', '--head-timeout', '300', '--heartbeat', '300']),
    (child) => child.stop(),
  );
  const apex = `localhost:${port}`;
  // A real agent from the address that will flood, registered before: agents do not count against their address.
  const shared = later(await agent(`http://localhost:${port}`, ctx.origin.port, { subdomain: 'victim' }), (a) => a.stop());
  const floodStarted = Date.now();
  const flood = later(await slowClients(FLOOD, port, shared.host), (clients) => {
    for (const client of clients) client.socket.destroy();
  });
  const refused = () => flood.filter((c) => c.answer.startsWith('HTTP/1.1 429 ')).length;
  const held = () => flood.filter((c) => !c.closed && c.answer === '').length;
  await waitFor(() => refused() === FLOOD - PER_ADDRESS, 60_000, `${FLOOD - PER_ADDRESS} refusals`);
  assert.is(held(), PER_ADDRESS, 'the flooder holds exactly its share, all still waiting for their heads');

  const started = Date.now();
  const visitor = await request(port, shared.host, { path: '/hello', localAddress: '127.0.0.2', timeout: 30_000 });
  console.log(`    a visitor from another address beside the flood: ${Date.now() - started} ms`);
  assert.is(visitor.status, 200);
  assert.is(visitor.body.toString(), 'hello from origin\n');
  assert.is(held(), PER_ADDRESS, 'served while the flood still holds every slot of its address');

  const late = later(await bareAgent(port, 'late-agent', '127.0.0.3'), (a) => a.close());
  assert.is(late.welcome.subdomain, 'late-agent');
  const throughLate = await request(port, `late-agent.localhost:${port}`, { localAddress: '127.0.0.2' });
  assert.is(throughLate.body.toString(), 'hello from a bare agent\n', 'an agent from another address connects and serves');

  const flooder = await request(port, shared.host, { path: '/hello' });
  assert.is(flooder.status, 429);
  assert.is(flooder.headers['retry-after'], '10');
  assert.match(flooder.body.toString(), `allows ${PER_ADDRESS} connections at a time from one address`);

  const metrics = await request(port, apex, {
    path: '/_porthole/metrics',
    headers: { authorization: 'Bearer admin-secret' },
    localAddress: '127.0.0.4',
  });
  const refusedTotal = Number(/porthole_connections_refused_total\{reason="address"\} (\d+)/.exec(metrics.body.toString())?.[1]);
  assert.is(refusedTotal, FLOOD - PER_ADDRESS + 1, "every connection over the share, and the flooder's request");
  // One line per address per minute, however many refusals: one, unless this machine took minutes.
  const minutes = Math.floor((Date.now() - floodStarted) / 60_000);
  const lines = relayProcess.log().filter((line) => line.event === 'connection.refused');
  assert.ok(
    lines.length >= 1 && lines.length <= 1 + minutes,
    `${lines.length} log lines in ${minutes} min for ${refusedTotal} refusals:\n${lines.map((line) => JSON.stringify(line)).join('\n')}`,
  );
  assert.is(lines[0].address, '127.0.0.1');
  assert.is(lines[0].reason, 'address');
});

it('the global cap keeps a reserve: health and agents get in while visitors are full; visitors get 503', async () => {
  // 40 connections: 36 for visitors, a reserve of 4.
  const limited = later(await relay({ maxConnections: 40, maxConnectionsPerAddress: 10, ...PATIENT }), (r) => r.close(0));
  const port = limited.httpPort;
  const shared = later(await agent(limited.url, ctx.origin.port, { subdomain: 'busy' }), (a) => a.stop());
  const flood = later([] as SlowClient[], (clients) => {
    for (const client of clients) client.socket.destroy();
  });
  await relayHolds(limited, 1);
  for (const address of ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4'])
    flood.push(...(await slowClients(address === '127.0.1.4' ? 5 : 10, port, shared.host, address)));
  await relayHolds(limited, 36);

  const health = await request(port, `localhost:${port}`, { path: '/_porthole/health', localAddress: '127.0.2.1' });
  assert.is(health.status, 200, 'health checks use the reserve');
  const late = later(await bareAgent(port, 'reserve-agent', '127.0.2.2'), (a) => a.close());
  assert.is(late.welcome.subdomain, 'reserve-agent', 'an agent connects on the reserve');
  const visitor = await request(port, shared.host, { path: '/hello', localAddress: '127.0.2.3' });
  assert.is(visitor.status, 503, 'a visitor may not take a reserve slot');
  assert.is(visitor.headers.connection, 'close');
  assert.match(visitor.body.toString(), 'as many connections open as it allows');

  // A keep-alive connection let in on the reserve: the apex now; a tunnel once visitors have room.
  const keepAlive = later(new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.2.4' }), (a) => a.destroy());
  assert.is(await statusVia(keepAlive, port, `localhost:${port}`, '/_porthole/health'), 200);

  // The reserve now holds the agent and the keep-alive connection; fill the rest, then one more is refused.
  flood.push(...(await slowClients(2, port, shared.host, '127.0.3.1')));
  await relayHolds(limited, 40);
  const full = await request(port, shared.host, { localAddress: '127.0.3.2' }).catch((error: Error) => error);
  assert.ok(!(full instanceof Error), `refused with a page, not a reset: ${full}`);
  assert.is((full as { status: number }).status, 503);
  assert.ok(metric(limited, 'porthole_connections_refused_total{reason="full"}') >= 1);
  assert.ok(metric(limited, 'porthole_connections_refused_total{reason="reserve"}') >= 1);

  for (const client of flood.splice(0, 10)) client.socket.destroy();
  await relayHolds(limited, 30);
  assert.is(await statusVia(keepAlive, port, shared.host, '/hello'), 200, 'the same connection reaches the tunnel once there is room');
  assert.is((await request(port, shared.host, { path: '/hello', localAddress: '127.0.2.3' })).status, 200);
});

it('heavy legitimate use from one address fits: a browser on 8 connections, dozens of agents, and the benchmark load', async () => {
  const limited = later(await relay({ maxConnectionsPerAddress: 16, maxTunnelsPerToken: 64, ...PATIENT }), (r) => r.close(0));
  const port = limited.httpPort;
  const shared = later(await agent(limited.url, ctx.origin.port, { subdomain: 'page' }), (a) => a.stop());
  const bare = later([] as BareAgent[], async (agents) => {
    for (const b of agents) await b.close();
  });
  // 40 agents from one address with a limit of 16: each registered one stops counting against it.
  for (let group = 0; group < 5; group++)
    bare.push(...(await Promise.all(Array.from({ length: 8 }, (_, i) => bareAgent(port, `many-${group}-${i}`)))));
  await relayHolds(limited, 41);

  // A page load: 8 parallel keep-alive connections, 25 requests each, from the same address as the agents.
  const browser = later(new http.Agent({ keepAlive: true, maxSockets: 8 }), (a) => a.destroy());
  const statuses = await Promise.all(Array.from({ length: 200 }, () => statusVia(browser, port, shared.host, '/hello')));
  assert.equal(new Set(statuses), new Set([200]));
  for (const reason of ['address', 'full', 'reserve'])
    assert.is(metric(limited, `porthole_connections_refused_total{reason="${reason}"}`), 0, reason);
});

it.run();
