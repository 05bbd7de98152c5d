/**
 * The internal hop between cluster nodes: a public request that reached one node, passed to the node
 * its tunnel is connected to. The hop carries a token derived from --cluster-secret (never the secret
 * itself) and the visitor's address and scheme, so X-Forwarded-* are set once, from what the node the
 * visitor reached saw. A request that claims to be a hop without the right token gets 403 and goes
 * nowhere; a visitor's own X-Porthole-* headers never cross.
 */
import { createHmac } from 'node:crypto';
import { http1Fields, isHttp2, type PublicRequest } from '../http2.js';
import type { PublicClient } from '../clustering.js';
import { safeEqual } from '../secrets.js';

/** Marks a hop; its value is the cluster's hop token. */
export const HOP_HEADER = 'x-porthole-hop';
/** The visitor's address, as the node it reached saw it. */
export const CLIENT_HEADER = 'x-porthole-client';
/** `http` or `https`: how the visitor reached the cluster. */
export const PROTO_HEADER = 'x-porthole-proto';
/** On a hop's answer: this node does not hold the tunnel (any more); the sender looks it up again. */
export const MISS_HEADER = 'x-porthole-miss';
const PREFIX = 'x-porthole-';

export function hopToken(clusterSecret: string): string {
  return createHmac('sha256', clusterSecret).update('porthole cluster hop v1').digest('base64url');
}

/**
 * What a request says about the hop: undefined for a visitor's own request, the visitor of a hop
 * that carries `token`, or 'forbidden' for one that claims to be a hop without it.
 */
export function inboundHop(req: PublicRequest, token: Buffer): PublicClient | 'forbidden' | undefined {
  const presented = req.headers[HOP_HEADER];
  if (presented === undefined) return undefined;
  if (typeof presented !== 'string' || !safeEqual(Buffer.from(presented), token)) return 'forbidden';
  const client = req.headers[CLIENT_HEADER];
  const proto = req.headers[PROTO_HEADER];
  if (typeof client !== 'string' || (proto !== 'http' && proto !== 'https')) return 'forbidden';
  return { client, proto };
}

/** Connection-scoped headers that the hop's own connection replaces (RFC 9110 §7.6.1), plus Expect, which the hop answers itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

/**
 * The visitor's request headers for the hop: unchanged (the owner node applies the usual proxy rules),
 * less connection-scoped ones and any X-Porthole-* the visitor sent, plus the hop's own; an HTTP/2
 * visitor's as HTTP/1.1 fields (relay/http2.ts).
 */
export function outboundHeaders(req: PublicRequest, visitor: PublicClient, token: string, upgrade: boolean): string[] {
  const crosses = (name: string) => !(HOP_BY_HOP.has(name) || name.startsWith(PREFIX));
  let headers: string[];
  if (isHttp2(req)) headers = http1Fields(req, (name, value) => (crosses(name) ? value : undefined));
  else {
    const raw = req.rawHeaders;
    headers = [];
    for (let i = 0; i < raw.length; i += 2) if (crosses(raw[i].toLowerCase())) headers.push(raw[i], raw[i + 1]);
  }
  if (upgrade) headers.push('connection', 'Upgrade', 'upgrade', req.headers.upgrade ?? 'websocket');
  headers.push(HOP_HEADER, token, CLIENT_HEADER, visitor.client, PROTO_HEADER, visitor.proto);
  return headers;
}

/** The owner's answer headers for the visitor: less the hop connection's own. */
export function answerHeaders(raw: string[]): string[] {
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || name === MISS_HEADER) continue;
    headers.push(raw[i], raw[i + 1]);
  }
  return headers;
}
