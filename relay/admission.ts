/**
 * Whether a public request routed to a tunnel may go through, and if not, the page that says why:
 * no such tunnel (404), its agent reconnecting (503), a password needed (401), too busy (503).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Registration, Registry } from './registry.js';

/** A page for the visitor instead of the tunnel's answer. */
export interface RefusalPage {
  status: number;
  title: string;
  message: string;
  headers?: Record<string, string>;
}

export type Admission = { ok: true; registration: Registration } | { ok: false; refusal: RefusalPage };

export function admit(
  registry: Registry,
  maxStreamsPerTunnel: number,
  name: string,
  headers: IncomingHttpHeaders,
  now = Date.now(),
): Admission {
  const registration = registry.lookup(name);
  if (!registration) {
    return refuse(
      404,
      'No such tunnel',
      `No tunnel named "${name}" is connected to this relay. Check the URL, or start sharing with: porthole share <port> --subdomain ${name}`,
    );
  }
  if (!registration.tunnel) {
    const seconds = Math.max(1, Math.ceil(((registration.reconnectingUntil ?? now) - now) / 1000));
    return refuse(
      503,
      'Tunnel reconnecting',
      `The tunnel "${registration.subdomain}" lost its agent and is waiting up to ${seconds} s for it to reconnect. Try again in a moment.`,
      { 'retry-after': '2' },
    );
  }
  if (registration.auth && !registration.auth.allows(headers.authorization)) {
    return refuse(401, 'Password required', 'This tunnel is protected. Enter the user name and password its owner gave you.', {
      'www-authenticate': `Basic realm="${registration.subdomain}", charset="UTF-8"`,
    });
  }
  if (registration.activeStreams >= maxStreamsPerTunnel) {
    return refuse(
      503,
      'Tunnel busy',
      `The tunnel "${registration.subdomain}" already has ${registration.activeStreams} requests in flight, the most this relay allows. Try again shortly.`,
      { 'retry-after': '1' },
    );
  }
  return { ok: true, registration };
}

/** The 404 for a Host that names no tunnel at all (another domain, or nested labels). */
export function unknownHost(host: string): RefusalPage {
  return {
    status: 404,
    title: 'No such tunnel',
    message: `No tunnel named "${host}" is connected to this relay. Check the URL, or start sharing with: porthole share <port> --subdomain NAME`,
  };
}

function refuse(status: number, title: string, message: string, headers?: Record<string, string>): Admission {
  return { ok: false, refusal: { status, title, message, headers } };
}
