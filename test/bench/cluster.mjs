// The benchmark's cluster pieces: Debian's redis-server on a free loopback port (installed when
// missing), the flags that make a relay a node of it, and its memory as Redis reports it.
import { createRequire } from 'node:module';
import net from 'node:net';
import { freePort, start, within } from './lib.mjs';

const { ensureDebianPackages } = createRequire(import.meta.url)('../debian.cjs');

export const CLUSTER_SECRET = 'bench-cluster-secret-0123456789';

/** Sends one command to Redis and resolves with its raw reply. */
export function redisCommand(port, ...args) {
  const command = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return within(
    5000,
    `redis ${args[0]}`,
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(command));
      let reply = '';
      socket.on('data', (d) => {
        reply += d;
        const size = /^\$(\d+)\r\n/.exec(reply);
        if (reply.endsWith('\r\n') && (!size || reply.length >= size[0].length + Number(size[1]) + 2)) {
          socket.destroy();
          resolve(reply);
        }
      });
      socket.on('error', reject);
    }),
  );
}

/** redis-server without persistence on a free port; the caller stops it with lib's stop(). */
export async function startRedis() {
  ensureDebianPackages(['redis-server']);
  const port = await freePort();
  const redis = start('redis', 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
  const deadline = Date.now() + 10_000;
  while (!(await redisCommand(port, 'PING').catch(() => '')).startsWith('+PONG')) {
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { ...redis, port, url: `redis://127.0.0.1:${port}` };
}

/** `node relay` flags for a node of the cluster on `redis`. */
export function nodeArgs(redis) {
  return ['--redis', redis.url, '--cluster-secret', CLUSTER_SECRET];
}

/** Bytes of memory Redis holds for its data (INFO memory: used_memory). */
export async function redisMemory(redis) {
  return Number(/used_memory:(\d+)/.exec(await redisCommand(redis.port, 'INFO', 'memory'))?.[1] ?? 0);
}
