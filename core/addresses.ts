/**
 * Which hosts mean this machine. Three questions, kept apart because their answers differ:
 *
 * | host                                   | isLoopback | reachesThisMachine | isLocalhostAlias |
 * | -------------------------------------- | ---------- | ------------------ | ---------------- |
 * | localhost, 127.0.0.1, ::1              | yes        | yes                | yes              |
 * | 127.0.0.2, app.localhost               | yes        | yes                | no               |
 * | 0.0.0.0, ::                            | no         | yes                | yes              |
 * | 10.0.0.5, example.dev                  | no         | no                 | no               |
 *
 * Every spelling a browser accepts counts alike: any case, one trailing dot, IPv4 in any notation
 * (127.1, 0x7f.0.0.1), IPv6 with or without brackets, expanded or compressed, IPv4-mapped
 * (::ffff:127.0.0.1). Pure functions: the relay, the agent and the extension's port scan share them.
 */

/** Already as a browser reads it: lower-case DNS labels ending in a letter-led one, or dotted-decimal IPv4. */
const PLAIN_HOST =
  /^(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*\.?$|^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** 127.0.0.0/8 in the dotted decimal the URL parser gives. */
const IPV4_LOOPBACK = /^127\.\d+\.\d+\.\d+$/;
/** 127.0.0.0/8 as ::ffff:7fXX:XXXX, the form the URL parser gives an IPv4-mapped address. */
const MAPPED_LOOPBACK = /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/;

/**
 * The host as a browser reads it: lower case, IPv4 numbers in any notation as dotted decimal, IPv6
 * compressed and in brackets, one trailing dot dropped; undefined when it is no valid host. The
 * WHATWG URL parser decides, unless the host is plainly written already (the common case, no parse).
 */
export function canonicalHost(host: string): string | undefined {
  let canonical: string;
  if (PLAIN_HOST.test(host)) {
    canonical = host;
  } else {
    // An IPv6 address as sockets and `--host` spell it (::1) gets the brackets a URL needs.
    const authority = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    try {
      canonical = new URL(`http://${authority}/`).hostname;
    } catch {
      return undefined;
    }
  }
  return canonical.endsWith('.') ? canonical.slice(0, -1) : canonical;
}

/** `localhost` or a name under it (app.localhost): RFC 6761 reserves them all for loopback. */
export function isLocalhostName(host: string): boolean {
  const canonical = canonicalHost(host);
  return canonical === 'localhost' || (canonical?.endsWith('.localhost') ?? false);
}

/**
 * Traffic to this host never leaves the machine: localhost and names under it, 127.0.0.0/8 (also
 * IPv4-mapped) and ::1. What "only this machine can reach it" asks, as of a relay's listen address.
 */
export function isLoopback(host: string): boolean {
  const canonical = canonicalHost(host);
  if (canonical === undefined) return false;
  return (
    canonical === 'localhost' ||
    canonical.endsWith('.localhost') ||
    IPV4_LOOPBACK.test(canonical) ||
    canonical === '[::1]' ||
    MAPPED_LOOPBACK.test(canonical)
  );
}

/** 0.0.0.0, :: or ::ffff:0.0.0.0: "every address" when listening; a connection there lands on loopback. */
function isUnspecified(host: string): boolean {
  const canonical = canonicalHost(host);
  return canonical === '0.0.0.0' || canonical === '[::]' || canonical === '[::ffff:0:0]';
}

/**
 * A server on this machine answers here: loopback, or the unspecified address (a server bound to
 * every address answers on loopback too). What "is this URL this machine?" asks, and which listening
 * sockets an agent on this machine can reach.
 */
export function reachesThisMachine(host: string): boolean {
  return isLoopback(host) || isUnspecified(host);
}

/**
 * One of the names people use interchangeably for "my dev server on this port": localhost,
 * 127.0.0.1, ::1 (also as ::ffff:127.0.0.1), and 0.0.0.0 or :: as a server prints its address. Not
 * 127.0.0.2 or app.localhost: those may well be another server (another bound address, another
 * virtual host), so two targets typed that way are two shares.
 */
export function isLocalhostAlias(host: string): boolean {
  const canonical = canonicalHost(host);
  return (
    canonical === 'localhost' ||
    canonical === '127.0.0.1' ||
    canonical === '[::1]' ||
    canonical === '[::ffff:7f00:1]' ||
    (canonical !== undefined && isUnspecified(canonical))
  );
}
