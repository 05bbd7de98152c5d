/**
 * The plain-HTTP listener of a relay with TLS: it answers the CA's HTTP-01 checks, serves the
 * requests other cluster nodes pass on (over plain HTTP, to --advertise), and sends everyone else
 * to HTTPS with a 308, which keeps the method and body.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendPage } from './pages.js';
import { type PublicSide, namedBy } from './publicSide.js';
import type { PublicUrls } from './publicUrl.js';
import { requestListener } from './requests.js';
import type { CertificateSource } from './tls/source.js';

/** `urls`: the relay's public address, known once the listeners are bound. */
export function httpsRedirect(side: PublicSide, certificates: CertificateSource, urls: () => PublicUrls) {
  const hopped = requestListener(side, 'http');
  return side.guarded(
    (req: IncomingMessage, res: ServerResponse) => {
      if (side.cluster?.hop(req) !== undefined) return hopped(req, res);
      if (certificates.handleHttpChallenge(req, res)) return;
      const target = namedBy(req);
      if (!target.ok) return sendPage(res, 400, 'Bad request', target.problem);
      res.writeHead(308, { location: urls().https(target.host ?? side.config.domain, target.path), 'content-length': 0 });
      res.end();
    },
    (_req, res) => res.destroy(),
  );
}
