/**
 * A relay's graceful stop: no new connections; GOAWAY to HTTP/2 visitors and to agents (they
 * reconnect, to another node in a cluster); requests in flight get a few seconds to finish; then
 * every connection closes.
 */
import { CloseCode, FrameType } from '../core/protocol.js';
import type { CertificateSource } from './tls/source.js';
import type { ClusterHooks } from './clustering.js';
import type { Listeners } from './listeners.js';
import type { PublicSide } from './publicSide.js';
import type { Registry } from './registry.js';

/** How long a shutdown waits for public requests in flight. */
export const SHUTDOWN_GRACE_MS = 5_000;
const POLL_MS = 50;

export interface Stoppable {
  listeners: Listeners;
  registry: Registry;
  side: PublicSide;
  certificates?: CertificateSource;
  cluster?: ClusterHooks;
}

export async function shutDown({ listeners, registry, side, certificates, cluster }: Stoppable, graceMs: number): Promise<void> {
  for (const server of listeners.all) server.close();
  listeners.goAway();
  await cluster?.leaving();
  for (const registration of registry.registrations())
    registration.tunnel?.sendControl(FrameType.GoAway, { reason: 'the relay is restarting' });
  // Until each response has been handed to its socket: the agent's last frame can come well before that.
  // Upgraded connections (WebSockets) never finish by themselves, so they are not waited for.
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && side.requestsInFlight + (cluster?.inFlight ?? 0) > 0) await new Promise((r) => setTimeout(r, POLL_MS));
  const tunnels = [...registry.registrations()].flatMap((r) => (r.tunnel ? [r.tunnel] : []));
  for (const tunnel of tunnels) tunnel.close(CloseCode.goingAway, 'relay shutting down');
  listeners.closeAllConnections();
  registry.clear();
  certificates?.stop();
  await cluster?.stop();
  await Promise.all(listeners.all.map((server) => new Promise((r) => server.close(() => r(undefined)))));
}
