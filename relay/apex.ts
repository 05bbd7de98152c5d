/** The relay's own pages at the apex: the status page, `/_porthole/health` and `/_porthole/metrics`. */
import type { ClusterHooks } from './clustering.js';
import type { PublicRequest, PublicResponse } from './http2.js';
import type { Metrics } from './metrics.js';
import { sendPage, statusPage } from './pages.js';
import type { Registry } from './registry.js';
import { safeEqual } from './secrets.js';
import { VERSION } from '../core/version.js';

export interface ApexOptions {
  domain: string;
  registry: Registry;
  metrics: Metrics;
  /** Bearer token for the metrics; without one they are off. */
  adminToken?: string;
  certificateExpiries(): { name: string; notAfter: Date }[];
  /** With --redis: this node's place in its cluster. */
  cluster?: Pick<ClusterHooks, 'health' | 'metrics'>;
}

export function serveApex(req: PublicRequest, res: PublicResponse, options: ApexOptions): void {
  const { registry, metrics, adminToken } = options;
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/_porthole/health') {
    const answer = (extra: object) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ ok: true, version: VERSION, tunnels: registry.size, ...extra }));
    };
    if (!options.cluster) return answer({});
    options.cluster.health().then(answer, () => answer({}));
  } else if (path === '/_porthole/metrics') {
    if (!adminToken || !bearerMatches(req.headers.authorization, Buffer.from(adminToken))) {
      sendPage(
        res,
        adminToken ? 401 : 404,
        'Metrics need the admin token',
        adminToken ? 'Send Authorization: Bearer <admin token>.' : 'Start the relay with --admin-token to enable /_porthole/metrics.',
        undefined,
        adminToken ? { 'www-authenticate': 'Bearer realm="porthole metrics"' } : {},
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    const lines = metrics.render(registry, options.certificateExpiries());
    res.end(options.cluster ? `${lines}${options.cluster.metrics().join('\n')}\n` : lines);
  } else if (path === '/' || path === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(statusPage(options.domain, registry.size, VERSION));
  } else {
    sendPage(res, 404, 'Not found', `This relay has no page at ${path}.`);
  }
}

function bearerMatches(authorization: string | undefined, token: Buffer): boolean {
  return Boolean(authorization?.startsWith('Bearer ')) && safeEqual(Buffer.from((authorization as string).slice(7).trim()), token);
}
