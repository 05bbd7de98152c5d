/**
 * A visitor's request, over HTTP/1.1 or HTTP/2: the relay's own pages at the apex, a tunnel
 * connected here, or (in a cluster) the node its tunnel is connected to.
 */
import { serveApex } from './apex.js';
import { http2RequestProblem, isHttp2, type PublicRequest, type PublicResponse } from './http2.js';
import { HEADERS_TOO_LARGE, sendPage } from './pages.js';
import { forwardRequest } from './proxy.js';
import { FORBIDDEN_HOP, type Named, type Proto, type PublicSide, RELAY_FULL, namedBy } from './publicSide.js';
import { type Route, routeHost } from './routing.js';

/** The listener for public requests; `expectsContinue` for those that sent `Expect: 100-continue`. */
export function requestListener(side: PublicSide, proto: Proto, expectsContinue = false) {
  const { config, cluster } = side;
  return side.guarded(
    (req: PublicRequest, res: PublicResponse) => {
      if (isHttp2(req)) {
        const problem = http2RequestProblem(req, config.maxHeaderBytes);
        if (problem === 'size') return sendPage(res, 431, HEADERS_TOO_LARGE.title, HEADERS_TOO_LARGE.message);
        if (problem === 'host') return sendPage(res, 400, 'Bad request', 'The Host header names another host than :authority.');
      }
      const hop = cluster?.hop(req);
      if (hop === 'forbidden') return sendPage(res, 403, FORBIDDEN_HOP[0], FORBIDDEN_HOP[1]);
      const target = namedBy(req);
      if (!target.ok) return sendPage(res, 400, 'Bad request', target.problem);
      const route = routeHost(target.host, config.domain);
      if (route.kind === 'apex') return serveApex(req, res, side.apex);
      const named = { host: target.host ?? '', path: target.path };
      if (cluster && side.elsewhere(route)) {
        if (!side.connections.mayReachTunnel(req.socket))
          return sendPage(res, RELAY_FULL.status, RELAY_FULL.title, RELAY_FULL.message, undefined, RELAY_FULL.headers);
        const visitor = hop ?? { client: req.socket.remoteAddress ?? '', proto };
        const here = () => requestHere(side, route, named, req, res, visitor.proto, expectsContinue, hop?.client);
        return cluster.request(route.name, req, res, visitor, hop !== undefined, here);
      }
      requestHere(side, route, named, req, res, hop?.proto ?? proto, expectsContinue, hop?.client);
    },
    (_req, res) => (res as { destroy(): void }).destroy(),
  );
}

/** A public request for a tunnel connected here (or for no tunnel at all). */
function requestHere(
  side: PublicSide,
  route: Route,
  target: Named,
  req: PublicRequest,
  res: PublicResponse,
  proto: Proto,
  expectsContinue: boolean,
  client?: string,
) {
  const admission = side.admitted(route, target, req, proto, false, client);
  if (!admission.ok) {
    const { status, title, message, headers } = admission.page;
    return sendPage(res, status, title, message, undefined, headers);
  }
  // Answer `Expect: 100-continue` only once we know the tunnel will take the body.
  if (expectsContinue) res.writeContinue();
  forwardRequest(req, res, side.context(admission.registration, target, admission.forward, proto, false, client));
}
