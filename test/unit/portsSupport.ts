/** What the port tests share: the recorded fixtures, and servers on loopback that close at once. */
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';

const fixtures = path.join(__dirname, '..', 'fixtures', 'ports');
/** A recorded fixture (test/fixtures/ports), as text. */
export const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name), 'utf8');

/** Long enough for anything that answers on a loaded machine; only silence waits this long. */
export const ANSWER_MS = 30_000;

const openSockets = new WeakMap<net.Server, Set<net.Socket>>();

/** Listens on `host` (port 0: a free one) and resolves with the port. */
export function listen(server: net.Server, port: number, host: string): Promise<number> {
  if (!openSockets.has(server)) {
    const sockets = new Set<net.Socket>();
    openSockets.set(server, sockets);
    server.on('connection', (socket) => sockets.add(socket.once('close', () => sockets.delete(socket))));
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject).listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Closes a server without waiting for clients: a server that never reads would not notice them leave. */
export function close(server: net.Server): Promise<void> {
  for (const socket of openSockets.get(server) ?? []) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}
