// Bulk transfers through the tunnel, directly, and through OpenSSH's `ssh -R`: warm (processes that
// have moved data before) and cold (each transfer through processes started just for it, the way a
// person downloads a build artefact from a share that has just come up).
import { download, upload } from './clients.mjs';
import { median, stop } from './lib.mjs';
import { startSshTunnel } from './ssh.mjs';

const MiB = 1024 * 1024;
export const WARM_BYTES = 100 * MiB;
export const COLD_SIZES = [50 * MiB, 100 * MiB];
export const DIRECTIONS = { download, upload };

/**
 * Two warm-up transfers on each path, then three each, alternating; the median counts. Fresh
 * processes run their first few hundred MiB slower (the cold rows measure that).
 */
export async function warmBulk(transfer, paths) {
  const names = Object.keys(paths);
  for (let i = 0; i < 2; i++) for (const name of names) await transfer(paths[name].base, paths[name].host, WARM_BYTES);
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = 0; i < 3; i++) for (const name of names) runs[name].push(await transfer(paths[name].base, paths[name].host, WARM_BYTES));
  return Object.fromEntries(names.map((name) => [name, median(runs[name])]));
}

/**
 * One transfer per path per round, each through processes started for it alone: a fresh origin, and a
 * fresh relay and agent, or a fresh `ssh -R` (sshd starts a new process for each connection). Nothing
 * crosses them before the measured transfer. The median of `rounds` rounds, the paths alternating.
 */
export async function coldBulk(processes, sshd, rounds, say) {
  const results = [];
  for (const bytes of COLD_SIZES) {
    for (const [direction, transfer] of Object.entries(DIRECTIONS)) {
      say(`cold ${bytes / MiB} MiB ${direction}s, ${rounds} rounds`);
      const runs = { direct: [], tunnel: [], ssh: [] };
      for (let round = 0; round < rounds; round++) {
        runs.direct.push(await freshTransfer(processes, transfer, bytes, async (origin) => ({ ...origin, stop: async () => {} })));
        runs.tunnel.push(await freshTransfer(processes, transfer, bytes, (origin) => processes.startTunnel(origin)));
        if (sshd) runs.ssh.push(await freshTransfer(processes, transfer, bytes, (origin) => startSshTunnel('ssh-cold', sshd, origin.port)));
      }
      results.push({
        bytes,
        direction,
        direct: median(runs.direct),
        tunnel: median(runs.tunnel),
        ssh: sshd ? median(runs.ssh) : undefined,
      });
    }
  }
  return results;
}

async function freshTransfer(processes, transfer, bytes, open) {
  const origin = await processes.startOrigin('origin-cold');
  const path = await open(origin);
  try {
    return await transfer(path.base, path.host, bytes);
  } finally {
    await (path.stop ? path.stop() : stop(path));
    await stop(origin);
  }
}
