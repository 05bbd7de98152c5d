/**
 * Host routing: which part of the relay a public request is for, from its Host header alone.
 * Pure, so every spelling a client may send (case, a port, a trailing dot, nested labels) has a
 * table test, and no request can reach a tunnel whose name it did not name.
 */

/** The apex (status page, health, metrics, agents' endpoint), one tunnel, or neither. */
export type Route = { kind: 'apex' } | { kind: 'tunnel'; name: string } | { kind: 'unknown'; host: string };

export function routeHost(hostHeader: string | undefined, domain: string): Route {
  const host = (hostHeader ?? '').toLowerCase().replace(/:\d*$/, '').replace(/\.$/, '');
  if (host === domain) return { kind: 'apex' };
  const suffix = `.${domain}`;
  const name = host.endsWith(suffix) ? host.slice(0, -suffix.length) : '';
  // One label only: a.b.<domain> is no tunnel's, and must not be a's.
  if (name === '' || name.includes('.')) return { kind: 'unknown', host: hostHeader ?? '' };
  return { kind: 'tunnel', name };
}
