/**
 * Whether a public request routed to a tunnel may go through, and if not, the page that says why:
 * no such tunnel (404), refused by the tunnel's access rules (403, 401), its agent reconnecting
 * (503), too busy (503). Also the private link's redirect (303), which sets the visitor's cookie.
 * Pure apart from the registry lookup: a request's facts in, a decision out.
 */
import { LINK_KEY_PARAM } from '../core/access.js';
import { cidrContains } from '../core/cidr.js';
import { isOpenPath } from '../core/pathGlob.js';
import { compileAccess, type AccessRules } from './access.js';
import type { Registration, Registry } from './registry.js';
import { digestMatches, linkCookieValue } from './secrets.js';

/** A page the relay answers with itself, instead of the tunnel's answer. */
export interface RelayPage {
  status: number;
  title: string;
  message: string;
  headers?: Record<string, string>;
}

/** What a public request looks like to the access rules. */
export interface Visitor {
  method: string;
  /** The request target as sent: path and query. */
  target: string;
  /** The client's address, as the socket reports it. */
  remote: string;
  proto: 'http' | 'https';
  /** The Host header (a tunnel's host: routing checked it). */
  host: string;
  /** An upgrade (WebSocket): it cannot follow a redirect, and the page goes to a raw socket. */
  upgrade: boolean;
  authorization?: string;
  cookie?: string;
}

/** How an admitted request is changed on its way to the local server. */
export interface Forwarding {
  /** The request target to send instead (the private link's key taken out). */
  target?: string;
  /** Remove the Authorization header: it was for the relay's password. */
  stripAuthorization: boolean;
  /** Remove this cookie: the relay's own, for the private link. */
  dropCookie?: string;
}

export type Admission = { ok: true; registration: Registration; forward: Forwarding } | { ok: false; page: RelayPage };
export type AccessDecision = { ok: true; forward: Forwarding } | { ok: false; page: RelayPage };

const AS_SENT: Forwarding = { stripAuthorization: false };
/** How long a browser keeps the private link's cookie; a new link (a new share) voids it sooner. */
const LINK_COOKIE_SECONDS = 7 * 24 * 3600;

export function admit(registry: Registry, maxStreamsPerTunnel: number, name: string, visitor: Visitor, now = Date.now()): Admission {
  const registration = registry.lookup(name);
  if (!registration) {
    return refuse(
      404,
      'No such tunnel',
      `No tunnel named "${name}" is connected to this relay. Check the URL, or start sharing with: porthole share <port> --subdomain ${name}`,
    );
  }
  const access = registration.access ? decideAccess(registration.access, visitor) : ({ ok: true, forward: AS_SENT } as const);
  if (!access.ok) return access;
  if (!registration.tunnel) {
    const seconds = Math.max(1, Math.ceil(((registration.reconnectingUntil ?? now) - now) / 1000));
    return refuse(
      503,
      'Tunnel reconnecting',
      `The tunnel "${registration.subdomain}" lost its agent and is waiting up to ${seconds} s for it to reconnect. Try again in a moment.`,
      { 'retry-after': '2' },
    );
  }
  if (registration.activeStreams >= maxStreamsPerTunnel) {
    return refuse(
      503,
      'Tunnel busy',
      `The tunnel "${registration.subdomain}" already has ${registration.activeStreams} requests in flight, the most this relay allows. Try again shortly.`,
      { 'retry-after': '1' },
    );
  }
  return { ok: true, registration, forward: access.forward };
}

/**
 * A tunnel's access rules applied to one visitor. An open path skips every rule; otherwise the
 * visitor's address must be allowed (403), then the private link opened or its cookie shown (403;
 * the link itself answers with a redirect to the clean URL that sets the cookie), then the password
 * given (401). The link's key and cookie never go further, whatever the outcome.
 */
export function decideAccess(rules: AccessRules, visitor: Visitor): AccessDecision {
  const { ranges, globs } = compileAccess(rules);
  const link = rules.linkKey ? takeLinkKeys(visitor.target) : undefined;
  const cookieName = linkCookieName(visitor.proto);
  const forward: Forwarding = { stripAuthorization: false };
  if (link?.keys.length) forward.target = link.target;
  if (rules.linkCookie && visitor.cookie?.includes(cookieName)) forward.dropCookie = cookieName;
  if (rules.openPaths && isOpenPath(globs, forward.target ?? visitor.target)) return { ok: true, forward };

  if (rules.allowIps && !ranges.some((range) => cidrContains(range, visitor.remote))) {
    return refuse(
      403,
      'Not on the allow-list',
      `This share is open only to the networks its owner listed (an IP allow-list), and your address ${visitor.remote || 'unknown'} is not one of them. Ask the owner to add it.`,
    );
  }
  if (rules.linkKey && link) {
    if (link.keys.length > 0) {
      if (!link.keys.every((key) => digestMatches(rules.digestKey, key, rules.linkKey as string))) {
        return refuse(
          403,
          'Link not valid',
          'The link you opened does not (or no longer) open this share: sharing again makes a new link. Ask its owner for the current one.',
        );
      }
      // A browser's first visit: it gets the cookie and comes back to the clean URL, so the key
      // leaves its address bar and history. Other methods and upgrades carry the key through.
      if ((visitor.method === 'GET' || visitor.method === 'HEAD') && !visitor.upgrade) {
        const secure = visitor.proto === 'https' ? '; Secure' : '';
        const value = linkCookieValue(link.keys[0]);
        return refuse(303, 'Private link opened', 'Continue to the shared page.', {
          location: `${visitor.proto}://${visitor.host}${link.target}`,
          'set-cookie': `${cookieName}=${value}; Path=/; Max-Age=${LINK_COOKIE_SECONDS}; HttpOnly; SameSite=Lax${secure}`,
        });
      }
    } else if (
      !cookieValues(visitor.cookie, cookieName).some((value) => digestMatches(rules.digestKey, value, rules.linkCookie as string))
    ) {
      return refuse(403, 'Private share', 'This share is private. Open it with the link its owner gave you.');
    }
  }
  if (rules.password) {
    if (!passwordGiven(rules, visitor.authorization)) {
      return refuse(401, 'Password required', 'This tunnel is protected. Enter the user name and password its owner gave you.', {
        'www-authenticate': `Basic realm="${visitor.host.split('.')[0]}", charset="UTF-8"`,
      });
    }
    forward.stripAuthorization = true;
  }
  return { ok: true, forward };
}

/** The 404 for a Host that names no tunnel at all (another domain, or nested labels). */
export function unknownHost(host: string): RelayPage {
  return {
    status: 404,
    title: 'No such tunnel',
    message: `No tunnel named "${host}" is connected to this relay. Check the URL, or start sharing with: porthole share <port> --subdomain NAME`,
  };
}

/**
 * The private link's cookie: `__Host-` over HTTPS, which browsers accept only from that very host,
 * with Secure, Path=/ and no Domain, so a sibling tunnel cannot plant one. Plain HTTP cannot use it.
 */
export function linkCookieName(proto: 'http' | 'https'): string {
  return proto === 'https' ? '__Host-porthole-link' : 'porthole-link';
}

/**
 * The private link's keys in a request target, and the target without them. Parameters are split
 * by hand, not re-encoded, so the rest of the query reaches the local server byte for byte; a key
 * is recognised exactly when it is taken out.
 */
export function takeLinkKeys(target: string): { keys: string[]; target: string } {
  const q = target.indexOf('?');
  if (q < 0) return { keys: [], target };
  const keys: string[] = [];
  const kept = target
    .slice(q + 1)
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=');
      if (decodeParam(eq < 0 ? part : part.slice(0, eq)) !== LINK_KEY_PARAM) return true;
      keys.push(eq < 0 ? '' : (decodeParam(part.slice(eq + 1)) ?? ''));
      return false;
    });
  if (keys.length === 0) return { keys, target };
  return { keys, target: kept.length ? `${target.slice(0, q)}?${kept.join('&')}` : target.slice(0, q) };
}

function decodeParam(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** Every value of cookie `name` in a Cookie header (a sibling host may have planted more than one). */
function cookieValues(header: string | undefined, name: string): string[] {
  if (!header) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
  }
  return values;
}

function passwordGiven(rules: AccessRules, authorization: string | undefined): boolean {
  if (!authorization?.startsWith('Basic ')) return false;
  const presented = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  return digestMatches(rules.digestKey, presented, rules.password as string);
}

function refuse(status: number, title: string, message: string, headers?: Record<string, string>): { ok: false; page: RelayPage } {
  return { ok: false, page: { status, title, message, headers } };
}
