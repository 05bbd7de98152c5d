/**
 * Ordering certificates, and when each is due. One order per name at a time: every handshake and
 * timer that wants a name shares it. Orders run under the store's lock (across a cluster), and a
 * certificate another node stored meanwhile is used instead of ordering again. A failed order is
 * logged once, with what to check, and its name waits `retryAfterFailureMs` before another attempt
 * (Let's Encrypt allows 5 failed validations per name an hour).
 */
import type { AcmeIssuer } from './acmeIssuer.js';
import type { CertificateRecord } from './certificateStore.js';
import type { CertificateLog } from './source.js';
import type { CertificateStorage } from './storage.js';

export interface OrdersOptions {
  domain: string;
  store: CertificateStorage;
  /** DNS-01 instead of HTTP-01: only the hint for a failure differs. */
  dns01: boolean;
  /** Before this is left of a certificate's life it is due; default a third of its lifetime. */
  renewBeforeMs?: number;
  retryAfterFailureMs: number;
  log: CertificateLog;
  /** The certificate served for `name` now, if any. */
  current(name: string): CertificateRecord | undefined;
  /** A certificate is ready to serve (ordered here, or found stored by another node). */
  ready(record: CertificateRecord): void;
  /** A task for `name` finished, well or not: the renewal timer may look again. */
  settled(): void;
}

/** An order that failed and has been logged as acme.failed. */
class OrderFailed extends Error {}

export class CertificateOrders {
  /** Set once the ACME account key is known (CertificateManager.start). */
  issuer?: AcmeIssuer;
  private readonly pending = new Map<string, Promise<CertificateRecord>>();
  private readonly failedAt = new Map<string, number>();

  constructor(private readonly opts: OrdersOptions) {}

  /** Whether a task for `name` is under way. */
  busy(name: string): boolean {
    return this.pending.has(name);
  }

  /** One task per name at a time: every caller waiting for the same name shares its load or order. */
  once(name: string, task: () => Promise<CertificateRecord>): Promise<CertificateRecord> {
    let pending = this.pending.get(name);
    if (!pending) {
      pending = task().finally(() => {
        this.pending.delete(name);
        this.opts.settled();
      });
      this.pending.set(name, pending);
    }
    return pending;
  }

  /** An order for `name`, shared with any under way. */
  obtain(name: string, reason: string): Promise<CertificateRecord> {
    return this.once(name, () => this.order(name, reason));
  }

  /** Obtains `name` while the relay serves on (renewals); a failure is logged, never thrown. */
  inBackground(name: string, reason: string): void {
    this.obtain(name, reason).catch((error: Error) => {
      // A failed order has its acme.failed line; anything else (the store, its lock) gets one here.
      if (!(error instanceof OrderFailed)) this.opts.log('acme.renew-failed', { name, reason, error: error.message });
    });
  }

  /** Orders under the store's lock; a certificate another node stored meanwhile, not yet due, is used instead. */
  order(name: string, reason: string): Promise<CertificateRecord> {
    return this.opts.store.exclusive(name, async () => {
      const stored = await this.opts.store.load(name).catch((error: Error) => {
        this.opts.log('tls.stored-unusable', { name, error: error.message, next: 'ordering a new one' });
        return undefined;
      });
      if (
        stored &&
        stored.notAfter.getTime() > Date.now() &&
        Date.now() < this.dueAt(stored) &&
        stored.serial !== this.opts.current(name)?.serial
      ) {
        this.opts.ready(stored);
        this.opts.log('tls.loaded', { name, serial: stored.serial, notAfter: stored.notAfter.toISOString(), from: 'another order' });
        return stored;
      }
      return this.place(name, reason);
    });
  }

  /** Whether `name` failed too recently to be ordered again. */
  coolingDown(name: string): boolean {
    return Date.now() < this.retryAt(name);
  }

  /** When `record` is due for renewal: a third of its lifetime before it ends (capped at half, so a large renewBeforeMs cannot make every fresh certificate due at once), and never while its name cools down. */
  dueAt(record: CertificateRecord): number {
    const lifetime = record.notAfter.getTime() - record.notBefore.getTime();
    const before = Math.min(this.opts.renewBeforeMs ?? lifetime / 3, lifetime / 2);
    return Math.max(record.notAfter.getTime() - before, this.retryAt(record.name));
  }

  private retryAt(name: string): number {
    return (this.failedAt.get(name) ?? Number.NEGATIVE_INFINITY) + this.opts.retryAfterFailureMs;
  }

  private async place(name: string, reason: string): Promise<CertificateRecord> {
    const { domain, store, log } = this.opts;
    const names = name.startsWith('*.') ? [domain, name] : [name];
    const issuer = this.issuer;
    if (!issuer) throw new Error('CertificateManager.start() must finish before certificates can be ordered');
    const started = Date.now();
    log('acme.order', { names: names.join(','), reason });
    try {
      const { certPem, keyPem } = await issuer.issue(names);
      const record = await store.save(name, certPem, keyPem);
      this.opts.ready(record);
      this.failedAt.delete(name);
      log('acme.issued', {
        names: names.join(','),
        serial: record.serial,
        notAfter: record.notAfter.toISOString(),
        ms: Date.now() - started,
      });
      return record;
    } catch (err) {
      this.failedAt.set(name, Date.now());
      const error = new OrderFailed(`ACME order for ${names.join(' and ')} failed: ${(err as Error).message}; ${this.hint(name)}`);
      log('acme.failed', { names: names.join(','), reason, error: error.message, ms: Date.now() - started });
      throw error;
    }
  }

  private hint(name: string): string {
    const { domain } = this.opts;
    if (this.opts.dns01) return `check that the DNS-01 hook can publish TXT records for _acme-challenge.${domain}`;
    const record = name === domain ? domain : `*.${domain}`;
    return `check that DNS for ${record} points at this server and port 80 is reachable from the internet`;
  }
}
