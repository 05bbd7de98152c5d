import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { scanPorts, type PortSource } from '../../extension/ports/ports.js';
import { close, listen } from './portsSupport.js';

// lsof is the macOS reader; Linux has the same program, so both readers run for real here.
const sources: PortSource[] = process.platform === 'win32' ? ['netstat'] : process.platform === 'linux' ? ['proc', 'lsof'] : ['lsof'];

test(`scanPorts (${sources.join(', ')}): a listener of this process on 127.0.0.1 and ::1 is one port; a LAN one is left out`, async () => {
  const v4 = net.createServer();
  const v6 = net.createServer();
  const port = await listen(v4, 0, '127.0.0.1');
  await listen(v6, port, '::1');
  const lan = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  const lanServer = net.createServer();
  const lanPort = lan ? await listen(lanServer, 0, lan.address) : -1;
  const timings: string[] = [];
  try {
    for (const source of [...sources, ...sources]) {
      // the second round is served from the process-details cache
      const started = performance.now();
      const scan = await scanPorts({ source });
      const elapsed = performance.now() - started;
      assert.equal(scan.problems, [], source);
      const ours = scan.ports.filter((p) => p.port === port);
      assert.is(ours.length, 1, source);
      assert.is(ours[0].pid, process.pid, source);
      assert.is(ours[0].address, '127.0.0.1', source);
      assert.is(ours[0].category, 'dev-server', 'a node process');
      assert.match(ours[0].processName ?? '', /^node/, source);
      if (source !== 'netstat')
        assert.ok(ours[0].commandLine?.includes(path.basename(process.argv[1])), `${source}: ${ours[0].commandLine}`);
      assert.not.ok(
        scan.ports.some((p) => p.port === lanPort),
        `${source}: LAN-only listener`,
      );
      timings.push(`${source} ${elapsed.toFixed(0)} ms`);
    }
  } finally {
    await Promise.all([close(v4), close(v6), lan ? close(lanServer) : undefined]);
  }
  console.log(`    scanPorts, each source twice: ${timings.join(', ')}`);
});

test.run();
