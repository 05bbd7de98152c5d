/**
 * HTTPS certificates for the relay, from an ACME CA (Let's Encrypt by default) or from files.
 *
 *   const certs = new CertificateManager({ domain, email, directoryUrl, dataDir, isLiveName, log });
 *   await certs.start();                                     // apex certificate: stored one, or ordered now
 *   const server = https.createServer({ SNICallback: certs.sniCallback }, app);
 *   certs.attach(server);                                    // default certificate for clients without SNI
 *   http.createServer((req, res) => certs.handleHttpChallenge(req, res) || redirectToHttps(req, res));
 *
 * - The apex (`example.dev`) is obtained at start-up. A tunnel's name (`foo.example.dev`) is obtained on its
 *   first TLS handshake, only while `isLiveName('foo')` holds, so random names cannot spend the CA's rate
 *   limits; concurrent handshakes for one name share one order.
 * - With a `dns01` hook there is one certificate for `*.example.dev` and `example.dev` instead (DNS-01).
 * - Certificates and the account key live in `dataDir`; a restart serves them again without an order.
 * - A timer renews each certificate when less than `renewBeforeMs` (default: a third of its lifetime,
 *   30 days for Let's Encrypt's 90) remains, while the server keeps running.
 * - Events for `log`: acme.order (one per order placed; reason: start-up, on demand, renewal, expired),
 *   acme.issued, acme.failed, acme.renew-failed, tls.loaded, tls.stored-unusable, tls.no-tunnel,
 *   tls.apex-fallback, tls.sni-failed, tls.live-check-failed, tls.renew-skipped, acme.challenge-lookup-failed,
 *   acme.cleanup-failed, acme.deactivate-failed.
 * - Ordering, and when a certificate is due, are orders.ts.
 */
import type http from 'node:http';
import type tls from 'node:tls';
import * as acme from 'acme-client';
import { AcmeIssuer } from './acmeIssuer.js';
import { CertificateStore, type CertificateRecord } from './certificateStore.js';
import { CertificateOrders } from './orders.js';
import { MemoryChallenges, type CertificateStorage, type HttpChallenges } from './storage.js';
import type { Dns01Hook } from './dns01.js';
import type { CertificateLog, CertificateSource, SniCallback } from './source.js';
import { DNS_LABEL } from '../../core/names.js';
import { ConfigError, StartupError } from '../startupError.js';

export interface CertificateOptions {
  /** The relay's apex, e.g. `example.dev`; tunnels are `<name>.example.dev`. */
  domain: string;
  /** Contact for the ACME account; empty registers without one. Registering agrees to the CA's terms. */
  email: string;
  /** Default: Let's Encrypt production. */
  directoryUrl?: string;
  /** Account key and certificates; survives restarts. */
  dataDir: string;
  /** Test-only (--acme-skip-self-check): acme-client's pre-check fetches http://<name>:80/ through system DNS. */
  skipSelfCheck?: boolean;
  /** Whether a tunnel with this name (the label before the domain) is connected now (to any node of a cluster). */
  isLiveName(subdomain: string): boolean | Promise<boolean>;
  /** Default: files in `dataDir`. A cluster shares one store in Redis. */
  store?: CertificateStorage;
  /** Default: this process's memory. A cluster shares them, so any node answers the CA's check. */
  challenges?: HttpChallenges;
  renewBeforeMs?: number;
  /** One wildcard certificate through DNS-01 instead of one certificate per name through HTTP-01. */
  dns01?: Dns01Hook;
  /** How long a name whose order failed waits before another attempt (Let's Encrypt allows 5 failures an hour). Default 15 min. */
  retryAfterFailureMs?: number;
  /** Polling of the CA while it validates; acme-client's defaults (5 s, 30 s) make a first handshake slow. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  log: CertificateLog;
}

/** The renewal timer wakes at least this often, whatever the certificates' dates, so clock jumps do no harm. */
const MAX_CHECK_INTERVAL_MS = 60 * 60 * 1000;
const MIN_CHECK_DELAY_MS = 100;
const RETRY_AFTER_FAILURE_MS = 15 * 60 * 1000;

export class CertificateManager implements CertificateSource {
  private readonly domain: string;
  /** `example.dev`, or `*.example.dev` with DNS-01. */
  private readonly primary: string;
  private readonly directoryUrl: string;
  private readonly store: CertificateStorage;
  private readonly challenges: HttpChallenges;
  private readonly orders: CertificateOrders;
  private readonly certs = new Map<string, CertificateRecord>();
  private readonly servers = new Set<tls.Server>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: CertificateOptions) {
    this.domain = opts.domain.toLowerCase().replace(/\.$/, '');
    if (!this.domain.split('.').every((l) => DNS_LABEL.test(l)) || !this.domain.includes('.')) {
      throw new ConfigError(
        `"${opts.domain}" is not a domain name a certificate can be issued for; pass the relay's public name, e.g. --domain example.dev`,
      );
    }
    this.primary = opts.dns01 ? `*.${this.domain}` : this.domain;
    this.directoryUrl = opts.directoryUrl ?? acme.directory.letsencrypt.production;
    this.store = opts.store ?? new CertificateStore(opts.dataDir, this.directoryUrl);
    this.challenges = opts.challenges ?? new MemoryChallenges();
    this.orders = new CertificateOrders({
      domain: this.domain,
      store: this.store,
      dns01: Boolean(opts.dns01),
      renewBeforeMs: opts.renewBeforeMs,
      retryAfterFailureMs: opts.retryAfterFailureMs ?? RETRY_AFTER_FAILURE_MS,
      log: opts.log,
      current: (name) => this.certs.get(name),
      ready: (record) => this.remember(record),
      settled: () => this.schedule(),
    });
  }

  /** The primary certificate, stored or ordered now; what stands in its way is a StartupError that says what to check. */
  async start(): Promise<void> {
    await this.store.init();
    let accountKey: Buffer;
    try {
      accountKey = await this.store.accountKey(() => acme.crypto.createPrivateEcdsaKey('P-256'));
    } catch (error) {
      throw new StartupError(`Cannot read or store the ACME account key: ${(error as Error).message}`);
    }
    this.orders.issuer = new AcmeIssuer({
      directoryUrl: this.directoryUrl,
      email: this.opts.email,
      accountKey,
      dns01: this.opts.dns01,
      challenges: this.challenges,
      log: this.opts.log,
      skipSelfCheck: this.opts.skipSelfCheck ?? false,
      backoffMinMs: this.opts.backoffMinMs ?? 1000,
      backoffMaxMs: this.opts.backoffMaxMs ?? 10_000,
    });
    const stored = await this.stored(this.primary);
    if (!stored || stored.notAfter.getTime() <= Date.now()) {
      // The order's message names the names and what to check (DNS, port 80, the DNS-01 hook).
      await this.orders.obtain(this.primary, stored ? 'expired' : 'start-up').catch((error: Error) => {
        throw new StartupError(error.message);
      });
    }
    this.schedule();
  }

  readonly sniCallback: SniCallback = (servername, cb) => {
    this.recordFor(servername)
      .then(
        (record) => record ?? this.certs.get(this.primary),
        (err: Error) => {
          this.opts.log('tls.apex-fallback', { servername, error: err.message });
          return this.certs.get(this.primary);
        },
      )
      .then((record) =>
        record
          ? cb(null, record.context)
          : cb(new Error(`no certificate for ${servername} yet: the relay is still obtaining its certificate for ${this.primary}`)),
      )
      // Out of the handshake's own callbacks nothing would catch this: a rejection left alone ends the process.
      .catch((error: Error) => this.opts.log('tls.sni-failed', { servername, error: error.message }));
  };

  serverOptions(): { SNICallback: SniCallback; cert?: string; key?: string } {
    const primary = this.certs.get(this.primary);
    return { SNICallback: this.sniCallback, cert: primary?.certPem, key: primary?.keyPem };
  }

  attach(server: tls.Server): void {
    this.servers.add(server);
    const primary = this.certs.get(this.primary);
    if (primary) server.setSecureContext({ cert: primary.certPem, key: primary.keyPem });
  }

  handleHttpChallenge(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const prefix = '/.well-known/acme-challenge/';
    if (!req.url?.startsWith(prefix)) return false;
    const token = req.url.slice(prefix.length).split('?')[0];
    const answer = (keyAuthorization: string | undefined) => {
      res.writeHead(keyAuthorization ? 200 : 404, { 'content-type': 'text/plain' });
      res.end(keyAuthorization ?? 'No ACME challenge is pending with this token.\n');
    };
    this.challenges
      .get(token)
      .then(answer, (err: Error) => {
        this.opts.log('acme.challenge-lookup-failed', { token, error: err.message });
        answer(undefined);
      })
      .catch((error: Error) => {
        this.opts.log('acme.challenge-answer-failed', { token, error: error.message });
        res.destroy();
      });
    return true;
  }

  expiries(): { name: string; notAfter: Date }[] {
    return [...this.certs.values()].map((r) => ({ name: r.name, notAfter: r.notAfter }));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.servers.clear();
  }

  /**
   * The certificate for a handshake, or undefined to serve the apex one. A name without a live tunnel gets
   * the apex certificate rather than a failed handshake: the browser then says "this certificate is for
   * example.dev", which points at the name, where a reset connection says nothing; and a user who goes on
   * anyway reaches the relay's own "no tunnel named foo" page.
   */
  private async recordFor(servername: string): Promise<CertificateRecord | undefined> {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const sub = this.subdomainOf(name);
    if (name === this.domain || (sub && this.opts.dns01)) return undefined;
    if (!sub) return undefined;
    if (!(await this.isLive(sub))) {
      this.opts.log('tls.no-tunnel', { servername: name });
      return undefined;
    }
    const { orders } = this;
    let record = this.certs.get(name);
    if (!record) {
      if (orders.coolingDown(name)) return undefined;
      record = await orders.once(name, async () => (await this.stored(name)) ?? orders.order(name, 'on demand'));
    }
    if (record.notAfter.getTime() <= Date.now()) return orders.coolingDown(name) ? undefined : orders.obtain(name, 'expired');
    if (Date.now() >= orders.dueAt(record)) orders.inBackground(name, 'renewal');
    return record;
  }

  private subdomainOf(name: string): string | undefined {
    if (!name.endsWith(`.${this.domain}`)) return undefined;
    const label = name.slice(0, -this.domain.length - 1);
    return DNS_LABEL.test(label) ? label : undefined;
  }

  private async isLive(sub: string): Promise<boolean> {
    try {
      return await this.opts.isLiveName(sub);
    } catch (err) {
      this.opts.log('tls.live-check-failed', { subdomain: sub, error: (err as Error).message });
      return false;
    }
  }

  private async stored(name: string): Promise<CertificateRecord | undefined> {
    try {
      const record = await this.store.load(name);
      if (record) {
        this.remember(record);
        this.opts.log('tls.loaded', { name, serial: record.serial, notAfter: record.notAfter.toISOString() });
      }
      return record;
    } catch (err) {
      this.opts.log('tls.stored-unusable', { name, error: (err as Error).message });
      return undefined;
    }
  }

  private remember(record: CertificateRecord): void {
    this.certs.set(record.name, record);
    if (record.name !== this.primary) return;
    for (const server of this.servers) server.setSecureContext({ cert: record.certPem, key: record.keyPem });
  }

  /** Sleeps until the next certificate is due (or an hour), renews what is due, and sleeps again. */
  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    let next = Date.now() + MAX_CHECK_INTERVAL_MS;
    for (const record of this.certs.values()) {
      if (!this.orders.busy(record.name)) next = Math.min(next, this.orders.dueAt(record));
    }
    const renew = () =>
      this.renewDue().catch((error: Error) => this.opts.log('acme.renew-failed', { error: error.message, next: 'checking again later' }));
    this.timer = setTimeout(renew, Math.max(MIN_CHECK_DELAY_MS, next - Date.now()));
    this.timer.unref();
  }

  private async renewDue(): Promise<void> {
    try {
      for (const record of [...this.certs.values()]) {
        if (Date.now() < this.orders.dueAt(record) || this.orders.busy(record.name)) continue;
        const sub = record.name === this.primary ? undefined : this.subdomainOf(record.name);
        if (sub !== undefined && !(await this.isLive(sub))) {
          // Its tunnel is gone: no order spent on it. The files stay; a returning tunnel gets a new one on demand.
          this.certs.delete(record.name);
          this.opts.log('tls.renew-skipped', { name: record.name, why: 'no live tunnel' });
          continue;
        }
        this.orders.inBackground(record.name, 'renewal');
      }
    } finally {
      this.schedule();
    }
  }
}
