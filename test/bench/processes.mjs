// The benchmark's processes, each started fresh on free loopback ports from the bundles in `dist`:
// the origin (origin.mjs), the relay (relay.js), an agent (`cli.js share`), the plain proxy hop.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, get, jsonLine, start, stop, waitForHttp, waitForLine } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export function benchProcesses(dist) {
  async function startOrigin(name = 'origin') {
    const origin = start(name, process.execPath, [path.join(here, 'origin.mjs')], { cwd: root });
    const { port } = await waitForLine(origin, jsonLine, 10_000, 'its port');
    return { ...origin, port, base: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` };
  }

  async function startRelay(name, extraArgs = [], nodeArgs = [], ipc = false) {
    const port = await freePort();
    const relay = start(name, process.execPath, [...nodeArgs, path.join(dist, 'relay.js'), '--http-port', String(port), ...extraArgs], {
      cwd: root,
      ipc,
    });
    await waitForHttp(`http://127.0.0.1:${port}/_porthole/health`, `localhost:${port}`, 10_000);
    return { ...relay, port, base: `http://127.0.0.1:${port}` };
  }

  async function startProxyHop(origin) {
    const hop = start('proxy-hop', process.execPath, [path.join(here, 'proxy-hop.mjs'), origin.base], { cwd: root });
    const { port } = await waitForLine(hop, jsonLine, 10_000, 'its port');
    return { ...hop, base: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}` };
  }

  async function startAgent(name, origin, relay, subdomain, quiet) {
    const args = [
      path.join(dist, 'cli.js'),
      'share',
      origin.base,
      '--relay',
      `http://localhost:${relay.port}`,
      '--subdomain',
      subdomain,
      '--json',
    ];
    if (quiet) args.push('--quiet');
    const agent = start(name, process.execPath, args, { cwd: root });
    await waitForLine(agent, (line) => (jsonLine(line)?.event === 'ready' ? true : undefined), 10_000, 'ready');
    return { ...agent, host: `${subdomain}.localhost:${relay.port}` };
  }

  /** A fresh relay and agent for `origin`; `stop()` ends both. */
  async function startTunnel(origin) {
    const relay = await startRelay('relay');
    const agent = await startAgent('agent', origin, relay, 'bench', true);
    return {
      ...relay,
      host: agent.host,
      pids: { relay: relay.pid, agent: agent.pid },
      relay,
      agent,
      stop: async () => {
        await stop(agent);
        await stop(relay);
      },
    };
  }

  /**
   * Runs `measure` against a fresh origin, relay and agent, so that no section inherits another's
   * state (bulk transfers measured right after the wrk runs were about half as fast).
   */
  async function withTunnel(measure) {
    const origin = await startOrigin();
    const tunnel = await startTunnel(origin);
    const direct = origin;
    try {
      const viaTunnel = await get(`${tunnel.base}/small`, tunnel.host);
      const expected = await get(`${direct.base}/small`, direct.host);
      if (viaTunnel.status !== 200 || !viaTunnel.body.equals(expected.body))
        throw new Error(`the tunnel answered ${viaTunnel.status} "${viaTunnel.body}" instead of the origin's response`);
      return await measure({ origin, relay: tunnel.relay, agent: tunnel.agent, direct, tunnel });
    } finally {
      await tunnel.stop();
      await stop(origin);
    }
  }

  return { startOrigin, startRelay, startProxyHop, startAgent, startTunnel, withTunnel };
}
