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

/** The host a request names, and its target in origin form; or why it names none clearly (a 400). */
export type Target = { ok: true; host: string | undefined; path: string } | { ok: false; problem: string };

/**
 * Which host a request names (RFC 9112 §3.2–3.3): the target's authority when it is in absolute form
 * (`GET http://a.example.dev/x`, as proxies send), the Host header otherwise. A request with two Host
 * headers names two hosts, and is refused rather than routed by one and read by the other.
 */
export function requestTarget(url: string, hostHeaders: string[]): Target {
  if (hostHeaders.length > 1) return { ok: false, problem: 'The request has more than one Host header.' };
  if (url.startsWith('/') || url === '*') return { ok: true, host: hostHeaders[0], path: url };
  const absolute = /^https?:\/\/([^/?#]*)(.*)$/is.exec(url);
  if (!absolute || absolute[1].includes('@')) return { ok: false, problem: 'The request target must be a path or an http(s) URL.' };
  const rest = absolute[2];
  return { ok: true, host: absolute[1], path: rest.startsWith('/') ? rest : `/${rest}` };
}

/** The values of every Host header in Node's raw header list. */
export function hostHeaders(rawHeaders: string[]): string[] {
  const hosts: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 4 && name.toLowerCase() === 'host') hosts.push(rawHeaders[i + 1]);
  }
  return hosts;
}
