// The cluster at scale, simulated on one machine: `--tunnels` idle tunnels (10,000 by default) spread
// evenly over `--nodes` relays (3) on one Redis. Each tunnel is a bare WebSocket that says HELLO and
// answers pings (idle-agents.mjs), as an idle agent does. Prints Redis's memory per tunnel, each node's
// memory per tunnel (RSS, and JS heap after GC), and how long the tunnels took to register.
//
//   node test/bench/cluster-scale.mjs [--tunnels N] [--nodes N] [--dist DIR]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { nodeArgs, redisCommand, redisMemory, startRedis } from './cluster.mjs';
import { freePort, get, jsonLine, sleep, start, stop, stopAllSync, waitForHttp, waitForLine, within } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { values: flags } = parseArgs({
  options: {
    tunnels: { type: 'string', default: '10000' },
    nodes: { type: 'string', default: '3' },
    dist: { type: 'string', default: path.join(root, 'dist') },
  },
});
const tunnels = Number(flags.tunnels);
const nodeCount = Number(flags.nodes);
process.on('exit', stopAllSync);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
setTimeout(() => {
  console.error('cluster-scale: gave up after 10 minutes');
  process.exit(1);
}, 10 * 60_000).unref();

async function startNode(redis, i) {
  const port = await freePort();
  const args = ['--expose-gc', '-r', path.join(here, 'memory-probe.cjs'), path.join(flags.dist, 'relay.js'), '--http-port', String(port)];
  args.push('--max-tunnels-per-token', String(tunnels + 1000), ...nodeArgs(redis));
  const node = start(`node${i}`, process.execPath, args, { cwd: root, ipc: true });
  await waitForHttp(`http://127.0.0.1:${port}/_porthole/health`, `localhost:${port}`, 15_000);
  return { ...node, port };
}

const memory = (node) =>
  within(
    10_000,
    'a node memory probe',
    new Promise((resolve) => {
      node.child.once('message', resolve);
      node.child.send('memory');
    }),
  );

async function connect(node, name, count) {
  const agents = start(name, process.execPath, [path.join(here, 'idle-agents.mjs'), String(node.port), String(count), `${name}-`], {
    cwd: root,
  });
  await waitForLine(
    agents,
    (line) => {
      const event = jsonLine(line);
      if (event?.event === 'error') throw new Error(`${name}: ${event.message}`);
      return event?.event === 'ready' ? event : undefined;
    },
    300_000,
    'ready',
  );
  return agents;
}

async function main() {
  const redis = await startRedis();
  const nodes = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(await startNode(redis, i));
  // A few tunnels per node first, so code compiled on first use is not counted per tunnel.
  const warm = await Promise.all(nodes.map((node, i) => connect(node, `warm${i}`, 10)));
  await sleep(1000);
  const before = { redis: await redisMemory(redis), nodes: await Promise.all(nodes.map(memory)) };
  const started = Date.now();
  const shares = nodes.map((_, i) => Math.floor(tunnels / nodeCount) + (i < tunnels % nodeCount ? 1 : 0));
  const idle = await Promise.all(nodes.map((node, i) => connect(node, `idle${i}`, shares[i])));
  const registeredMs = Date.now() - started;
  // Two lease renewals (every 5 s) happen while the tunnels sit idle.
  const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await redisCommand(redis.port, 'INFO', 'stats'))?.[1] ?? 0);
  const idleFrom = { at: Date.now(), commands: await commands() };
  await sleep(11_000);
  const perSecond = ((await commands()) - idleFrom.commands) / ((Date.now() - idleFrom.at) / 1000);
  const after = { redis: await redisMemory(redis), nodes: await Promise.all(nodes.map(memory)) };
  const health = JSON.parse((await get(`http://127.0.0.1:${nodes[0].port}/_porthole/health`, `localhost:${nodes[0].port}`)).body);
  for (const proc of [...idle, ...warm, ...nodes, redis]) await stop(proc);

  const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;
  const rows = [
    `${tunnels.toLocaleString('en-US')} idle tunnels over ${nodeCount} nodes on one Redis (${health.cluster.tunnels.toLocaleString('en-US')} counted by the cluster), registered in ${(registeredMs / 1000).toFixed(1)} s`,
    '',
    '| | per tunnel | total |',
    '|---|--:|--:|',
    `| Redis used_memory | ${Math.round((after.redis - before.redis) / tunnels)} B | ${((after.redis - before.redis) / 2 ** 20).toFixed(1)} MiB |`,
    ...nodes.map((_, i) => {
      const rss = after.nodes[i].rss - before.nodes[i].rss;
      const heap = after.nodes[i].heapUsed - before.nodes[i].heapUsed;
      return `| node ${i + 1} (${shares[i].toLocaleString('en-US')} tunnels): RSS, JS heap after GC | ${kb(rss / shares[i])}, ${kb(heap / shares[i])} | ${(rss / 2 ** 20).toFixed(1)} MiB |`;
    }),
    `| Redis commands per second while idle (lease renewals in batches of 500, node beats; commands inside scripts count) | | ${Math.round(perSecond).toLocaleString('en-US')} |`,
  ];
  console.log(`\n${rows.join('\n')}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`cluster-scale: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
