/**
 * How the agent reaches a local server named `localhost` (what a bare port means) or a name under it:
 * at 127.0.0.1 and at ::1, whatever /etc/hosts says. RFC 6761 reserves those names for loopback, and
 * dev servers listen on either family alone (Vite binds ::1 when `localhost` resolves there first);
 * many hosts files name only one. With autoSelectFamily, Node tries the next address when one
 * refuses, so a server on either answers, and "nothing is listening" names both addresses tried.
 */
import dns, { type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isLocalhostName, isLocalhostAlias } from '../../core/addresses.js';

const LOOPBACK: LookupAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/** dns.lookup, except that localhost and names under it are both loopback addresses. */
const localLookup: LookupFunction = (hostname, options, callback) => {
  if (!isLocalhostName(hostname)) return dns.lookup(hostname, options, callback);
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
  const addresses = LOOPBACK.filter((a) => !family || a.family === family);
  process.nextTick(() => (options.all ? callback(null, addresses) : callback(null, addresses[0].address, addresses[0].family)));
};

/** Socket options for connections to the local server: both loopback families for localhost, tried in turn. */
export const LOCAL_CONNECT = { autoSelectFamily: true, lookup: localLookup } as const;

/**
 * "Nothing is listening" for a refused connection to `url`, naming the addresses tried; for a
 * loopback address typed as such, how to have both tried.
 */
export function nothingListening(url: URL, error: Error): string {
  const tried = (error as Error & { errors?: { address?: string }[] }).errors?.flatMap((e) => (e.address ? [e.address] : [])) ?? [];
  const unique = [...new Set(tried)];
  const where = unique.length > 1 ? ` (tried ${unique.join(' and ')})` : ' (connection refused)';
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const typedAddress = isLocalhostAlias(url.hostname) && !isLocalhostName(url.hostname);
  const both = typedAddress ? ` Shared by its port number (${port}), the agent tries both 127.0.0.1 and ::1.` : '';
  return `Nothing is listening on ${url.host}${where}. Is your dev server running on that port?${both}`;
}
