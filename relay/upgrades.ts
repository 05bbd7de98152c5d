/**
 * Requests that become WebSockets: an agent connecting at the apex, a visitor's WebSocket to a
 * tunnel (an HTTP/1.1 upgrade, or on HTTP/2 an RFC 8441 extended CONNECT), and in a cluster an
 * upgrade for a tunnel on another node. Any other CONNECT is refused: a relay is no forward proxy.
 */
import type { IncomingMessage } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import { CONNECT_PATH } from '../core/protocol.js';
import { http2RequestProblem, isHttp2, requestAuthority, type PublicRequest, type PublicResponse } from './http2.js';
import { endWithPage, rawPage, sendPage } from './pages.js';
import { forwardUpgrade } from './proxy.js';
import { FORBIDDEN_HOP, type Named, type Proto, type PublicSide, RELAY_FULL, namedBy } from './publicSide.js';
import { type Route, routeHost } from './routing.js';
import { forwardWebSocketConnect, isWebSocketConnect, refuseConnect } from './websocketOverHttp2.js';

/** Takes an agent's upgrade request on CONNECT_PATH (agents.ts). */
export type AcceptAgent = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** The listener for upgrade requests on a listener of `proto`. */
export function upgradeListener(side: PublicSide, proto: Proto, acceptAgent: AcceptAgent) {
  const { config, cluster } = side;
  return side.guarded(
    (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      const hop = cluster?.hop(req);
      if (hop === 'forbidden') return endWithPage(req, socket, 403, 'Forbidden', FORBIDDEN_HOP[0], FORBIDDEN_HOP[1]);
      const target = namedBy(req);
      if (!target.ok) return endWithPage(req, socket, 400, 'Bad Request', 'Bad request', target.problem);
      const route = routeHost(target.host, config.domain);
      if (route.kind === 'apex') {
        if (target.path.split('?')[0] !== CONNECT_PATH) {
          endWithPage(req, socket, 404, 'Not Found', 'Not found', `Agents connect to ${CONNECT_PATH}.`);
          return;
        }
        return acceptAgent(req, socket, head);
      }
      const named = { host: target.host ?? '', path: target.path };
      if (cluster && side.elsewhere(route)) {
        if (!side.connections.mayReachTunnel(req.socket))
          return endWithPage(req, socket, 503, 'Service Unavailable', RELAY_FULL.title, RELAY_FULL.message, RELAY_FULL.headers);
        const visitor = hop ?? { client: req.socket.remoteAddress ?? '', proto };
        const here = () => upgradeHere(side, route, named, req, socket, head, visitor.proto, hop?.client);
        return cluster.upgrade(route.name, req, socket, head, visitor, hop !== undefined, here);
      }
      upgradeHere(side, route, named, req, socket, head, hop?.proto ?? proto, hop?.client);
    },
    (_req, socket) => socket.destroy(),
  );
}

function upgradeHere(
  side: PublicSide,
  route: Route,
  target: Named,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  proto: Proto,
  client?: string,
) {
  const admission = side.admitted(route, target, req, proto, true, client);
  if (!admission.ok) {
    const { status, title, message, headers } = admission.page;
    return endWithPage(req, socket, status, title, title, message, headers);
  }
  forwardUpgrade(req, socket, head, side.context(admission.registration, target, admission.forward, proto, true, client));
}

/**
 * The listener for CONNECT requests. On HTTP/2, RFC 8441's extended CONNECT opens a WebSocket,
 * admitted as any request is (offered only outside a cluster, whose hop carries HTTP/1.1 upgrades).
 * Anything else is refused.
 */
export function connectListener(side: PublicSide) {
  const { config } = side;
  return side.guarded(
    (req: PublicRequest, res: PublicResponse | Duplex): void => {
      if (!isHttp2(req))
        return void (res as Duplex).end(
          rawPage(405, 'Method Not Allowed', 'Method not allowed', 'This relay does not tunnel CONNECT requests.'),
        );
      const response = res as Http2ServerResponse;
      if (!isWebSocketConnect(req)) return refuseConnect(req, response);
      const problem = http2RequestProblem(req, config.maxHeaderBytes);
      if (problem)
        return sendPage(response, problem === 'size' ? 431 : 400, 'Bad request', 'The request head is too large or names two hosts.');
      const named = { host: requestAuthority(req) ?? '', path: req.url ?? '/' };
      const admission = side.admitted(routeHost(named.host, config.domain), named, req, 'https', true);
      if (!admission.ok) {
        const { status, title, message, headers } = admission.page;
        return sendPage(response, status, title, message, undefined, headers);
      }
      forwardWebSocketConnect(req, response, side.context(admission.registration, named, admission.forward, 'https', true));
    },
    (_req, res) => (res as { destroy(): void }).destroy(),
  );
}
