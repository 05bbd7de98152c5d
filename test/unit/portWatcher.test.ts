import net from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ListeningPort } from '../../extension/ports/portRanking.js';
import { PortWatcher } from '../../extension/ports/portWatcher.js';
import { exitWithin, run, waitFor } from '../helpers';
import { ANSWER_MS, close, listen } from './portsSupport.js';

test('PortWatcher: sees a new listener of this process, its removal, and offers it once', async () => {
  const earlier = net.createServer();
  const earlierPort = await listen(earlier, 0, '127.0.0.1');
  const watcher = new PortWatcher({ intervalMs: 10 });
  assert.is(watcher.intervalMs, PortWatcher.MIN_INTERVAL_MS, 'minimum interval enforced');
  const offers: number[] = [];
  watcher.on('likelyDevServer', (port) => offers.push(port.port));
  await watcher.ready;
  assert.ok(
    watcher.ports.some((p) => p.port === earlierPort),
    'a port listening before the watcher is listed',
  );
  assert.not.ok(offers.includes(earlierPort), 'but not offered: it was there before');
  await close(earlier);
  const events: { event: string; port: ListeningPort }[] = [];
  for (const event of ['added', 'removed', 'likelyDevServer'] as const) watcher.on(event, (port) => events.push({ event, port }));
  const problems: string[] = [];
  watcher.on('problem', (message) => problems.push(message));
  const seen = (event: string, port: number, after = 0) => events.slice(after).find((e) => e.event === event && e.port.port === port)?.port;
  const server = net.createServer();
  try {
    const port = await listen(server, 0, '127.0.0.1');
    const added = await waitFor(() => seen('added', port), ANSWER_MS, `added ${port}`);
    assert.is(added.pid, process.pid);
    assert.ok(watcher.ports.some((p) => p.port === port));

    let mark = events.length;
    await close(server);
    const removed = await waitFor(() => seen('removed', port, mark), ANSWER_MS, `removed ${port}`);
    assert.is(removed.pid, process.pid);
    assert.not.ok(watcher.ports.some((p) => p.port === port));

    mark = events.length;
    await listen(server, port, '127.0.0.1');
    await waitFor(() => seen('added', port, mark), ANSWER_MS, `added ${port} again`);
    assert.is(events.filter((e) => e.event === 'likelyDevServer' && e.port.port === port).length, 1, 'offered once, not again on restart');
    assert.equal(problems, []);
  } finally {
    watcher.dispose();
    if (server.listening) await close(server);
  }
});

test('PortWatcher does not keep a process alive', async () => {
  const script = `const { PortWatcher } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'extension', 'ports', 'portWatcher.ts'))});
    new PortWatcher().on('added', () => {}); setTimeout(() => {}, 300);`;
  const child = run(['--import', 'tsx', '-e', script]);
  try {
    assert.is(await exitWithin(child, ANSWER_MS), 0, child.err);
  } finally {
    await child.stop('SIGKILL');
  }
});

test.run();
