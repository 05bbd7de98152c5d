/**
 * The relay's address as visitors and agents use it: https with TLS, --domain, and the port the
 * listener bound (left out when it is the scheme's default), unless --public-url states another:
 * behind a load balancer or a port forward, the port people use is not the one the relay listens on.
 */

export type Scheme = 'http' | 'https';

/** A URL with its scheme's own port leaves the port out. */
export const WELL_KNOWN_PORT: Record<Scheme, number> = { http: 80, https: 443 };

export class PublicUrls {
  private readonly suffix: string;

  constructor(
    readonly scheme: Scheme,
    private readonly domain: string,
    /** The port visitors use: --public-url's, or the one the listener bound. */
    readonly port: number,
  ) {
    this.suffix = portSuffix(scheme, port);
  }

  /** The apex, where agents connect: e.g. https://example.dev. */
  get apex(): string {
    return `${this.scheme}://${this.domain}${this.suffix}`;
  }

  /** A tunnel's public URL: e.g. https://myapp.example.dev. */
  tunnel(subdomain: string): string {
    return `${this.scheme}://${subdomain}.${this.domain}${this.suffix}`;
  }

  /** Where a plain-HTTP request for `host` (a port in it is dropped) and `path` goes on HTTPS. */
  https(host: string, path: string): string {
    return `https://${host.replace(/:\d*$/, '')}${portSuffix('https', this.port)}${path}`;
  }
}

function portSuffix(scheme: Scheme, port: number): string {
  return port === WELL_KNOWN_PORT[scheme] ? '' : `:${port}`;
}
