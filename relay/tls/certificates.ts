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
 *   acme.issued, acme.failed, tls.loaded, tls.stored-unusable, tls.no-tunnel, tls.apex-fallback,
 *   tls.live-check-failed, tls.renew-skipped, acme.cleanup-failed, acme.deactivate-failed.
 */
import type http from 'node:http';
import type tls from 'node:tls';
import * as acme from 'acme-client';
import { AcmeIssuer } from './acmeIssuer.js';
import { CertificateStore, type CertificateRecord } from './certificateStore.js';
import { MemoryChallenges, type CertificateStorage, type HttpChallenges } from './storage.js';
import type { Dns01Hook } from './dns01.js';
import type { CertificateLog, CertificateSource, SniCallback } from './source.js';
import { DNS_LABEL } from '../../core/names.js';

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

export class CertificateManager implements CertificateSource {
  private readonly domain: string;
  /** `example.dev`, or `*.example.dev` with DNS-01. */
  private readonly primary: string;
  private readonly directoryUrl: string;
  private readonly store: CertificateStorage;
  private readonly challenges: HttpChallenges;
  private issuer?: AcmeIssuer;
  private readonly certs = new Map<string, CertificateRecord>();
  private readonly pending = new Map<string, Promise<CertificateRecord>>();
  private readonly failedAt = new Map<string, number>();
  private readonly servers = new Set<tls.Server>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: CertificateOptions) {
    this.domain = opts.domain.toLowerCase().replace(/\.$/, '');
    if (!this.domain.split('.').every((l) => DNS_LABEL.test(l)) || !this.domain.includes('.')) {
      throw new Error(
        `"${opts.domain}" is not a domain name a certificate can be issued for; pass the relay's public name, e.g. --domain example.dev`,
      );
    }
    this.primary = opts.dns01 ? `*.${this.domain}` : this.domain;
    this.directoryUrl = opts.directoryUrl ?? acme.directory.letsencrypt.production;
    this.store = opts.store ?? new CertificateStore(opts.dataDir, this.directoryUrl);
    this.challenges = opts.challenges ?? new MemoryChallenges();
  }

  async start(): Promise<void> {
    await this.store.init();
    const accountKey = await this.store.accountKey(() => acme.crypto.createPrivateEcdsaKey('P-256'));
    this.issuer = new AcmeIssuer({
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
    if (!stored || stored.notAfter.getTime() <= Date.now()) await this.obtain(this.primary, stored ? 'expired' : 'start-up');
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
      );
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
    this.challenges.get(token).then(answer, (err: Error) => {
      this.opts.log('acme.challenge-lookup-failed', { token, error: err.message });
      answer(undefined);
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
    let record = this.certs.get(name);
    if (!record) {
      if (this.coolingDown(name)) return undefined;
      record = await this.once(name, async () => (await this.stored(name)) ?? this.order(name, 'on demand'));
    }
    if (record.notAfter.getTime() <= Date.now()) return this.coolingDown(name) ? undefined : this.obtain(name, 'expired');
    if (Date.now() >= this.renewAt(record)) this.obtain(name, 'renewal').catch(() => undefined); // logged in order()
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

  /** One task per name at a time: every handshake waiting for the same name shares its load or order. */
  private once(name: string, task: () => Promise<CertificateRecord>): Promise<CertificateRecord> {
    let pending = this.pending.get(name);
    if (!pending) {
      pending = task().finally(() => {
        this.pending.delete(name);
        this.schedule();
      });
      this.pending.set(name, pending);
    }
    return pending;
  }

  private obtain(name: string, reason: string): Promise<CertificateRecord> {
    return this.once(name, () => this.order(name, reason));
  }

  /** Orders under the store's lock; a certificate another node stored meanwhile, not yet due, is used instead. */
  private order(name: string, reason: string): Promise<CertificateRecord> {
    return this.store.exclusive(name, async () => {
      const stored = await this.store.load(name).catch(() => undefined);
      if (
        stored &&
        stored.notAfter.getTime() > Date.now() &&
        Date.now() < this.renewAt(stored) &&
        stored.serial !== this.certs.get(name)?.serial
      ) {
        this.remember(stored);
        this.opts.log('tls.loaded', { name, serial: stored.serial, notAfter: stored.notAfter.toISOString(), from: 'another order' });
        return stored;
      }
      return this.placeOrder(name, reason);
    });
  }

  private async placeOrder(name: string, reason: string): Promise<CertificateRecord> {
    const names = name.startsWith('*.') ? [this.domain, name] : [name];
    const issuer = this.issuer;
    if (!issuer) throw new Error('CertificateManager.start() must finish before certificates can be ordered');
    const started = Date.now();
    this.opts.log('acme.order', { names: names.join(','), reason });
    try {
      const { certPem, keyPem } = await issuer.issue(names);
      const record = await this.store.save(name, certPem, keyPem);
      this.remember(record);
      this.failedAt.delete(name);
      this.opts.log('acme.issued', {
        names: names.join(','),
        serial: record.serial,
        notAfter: record.notAfter.toISOString(),
        ms: Date.now() - started,
      });
      return record;
    } catch (err) {
      this.failedAt.set(name, Date.now());
      const error = new Error(`ACME order for ${names.join(' and ')} failed: ${(err as Error).message}; ${this.hint(name)}`);
      this.opts.log('acme.failed', { names: names.join(','), reason, error: error.message, ms: Date.now() - started });
      throw error;
    }
  }

  private hint(name: string): string {
    if (this.opts.dns01) return `check that the DNS-01 hook can publish TXT records for _acme-challenge.${this.domain}`;
    const record = name === this.domain ? this.domain : `*.${this.domain}`;
    return `check that DNS for ${record} points at this server and port 80 is reachable from the internet`;
  }

  private remember(record: CertificateRecord): void {
    this.certs.set(record.name, record);
    if (record.name !== this.primary) return;
    for (const server of this.servers) server.setSecureContext({ cert: record.certPem, key: record.keyPem });
  }

  private get retryAfterFailureMs(): number {
    return this.opts.retryAfterFailureMs ?? 15 * 60 * 1000;
  }

  private coolingDown(name: string): boolean {
    return Date.now() < (this.failedAt.get(name) ?? -Infinity) + this.retryAfterFailureMs;
  }

  /** Capped at half the lifetime so a large renewBeforeMs cannot make every fresh certificate due at once. */
  private renewAt(record: CertificateRecord): number {
    const lifetime = record.notAfter.getTime() - record.notBefore.getTime();
    const before = Math.min(this.opts.renewBeforeMs ?? lifetime / 3, lifetime / 2);
    return Math.max(record.notAfter.getTime() - before, (this.failedAt.get(record.name) ?? -Infinity) + this.retryAfterFailureMs);
  }

  /** Sleeps until the next certificate is due (or an hour), renews what is due, and sleeps again. */
  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    let next = Date.now() + MAX_CHECK_INTERVAL_MS;
    for (const record of this.certs.values()) {
      if (!this.pending.has(record.name)) next = Math.min(next, this.renewAt(record));
    }
    this.timer = setTimeout(() => void this.renewDue(), Math.max(MIN_CHECK_DELAY_MS, next - Date.now()));
    this.timer.unref();
  }

  private async renewDue(): Promise<void> {
    for (const record of [...this.certs.values()]) {
      if (Date.now() < this.renewAt(record) || this.pending.has(record.name)) continue;
      const sub = record.name === this.primary ? undefined : this.subdomainOf(record.name);
      if (sub !== undefined && !(await this.isLive(sub))) {
        // Its tunnel is gone: no order spent on it. The files stay; a returning tunnel gets a new one on demand.
        this.certs.delete(record.name);
        this.opts.log('tls.renew-skipped', { name: record.name, why: 'no live tunnel' });
        continue;
      }
      this.obtain(record.name, 'renewal').catch(() => undefined); // logged in order()
    }
    this.schedule();
  }
}
