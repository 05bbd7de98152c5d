/**
 * One ACME account and the order flow: HTTP-01 through tokens the relay serves on port 80,
 * DNS-01 through a provider hook. Written out instead of acme-client's `auto()` because auto() removes
 * each challenge as soon as its own authorization is valid, and `*.x` and `x` share one TXT name:
 * here every challenge is cleaned up only once the whole order has finished.
 */
import * as acme from 'acme-client';
import type { CertificateLog } from './source.js';
import type { Dns01Hook } from './dns01.js';
import type { HttpChallenges } from './storage.js';
import { txtRecordName } from './dns01.js';

type ChallengeType = 'http-01' | 'dns-01';

export interface AcmeIssuerOptions {
  directoryUrl: string;
  email: string;
  accountKey: Buffer;
  /** Skip acme-client's own pre-check (it fetches http://<name>:80/ or resolves TXT via system DNS). */
  skipSelfCheck: boolean;
  backoffMinMs: number;
  backoffMaxMs: number;
  dns01?: Dns01Hook;
  /** Where HTTP-01 tokens wait for the CA's check: in memory, or in Redis for a cluster. */
  challenges: HttpChallenges;
  log: CertificateLog;
}

export class AcmeIssuer {
  private readonly client: acme.Client;
  private account?: Promise<unknown>;

  constructor(private readonly opts: AcmeIssuerOptions) {
    this.client = new acme.Client({
      directoryUrl: opts.directoryUrl,
      accountKey: opts.accountKey,
      backoffMin: opts.backoffMinMs,
      backoffMax: opts.backoffMaxMs,
    });
  }

  /** Orders a certificate for `names` (the first is the subject); resolves to the PEM chain and its key. */
  async issue(names: string[]): Promise<{ certPem: string; keyPem: string }> {
    await this.ensureAccount();
    const type: ChallengeType = this.opts.dns01 ? 'dns-01' : 'http-01';
    const order = await this.client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const authorizations = await this.client.getAuthorizations(order);
      // allSettled: a challenge still being set up when another fails must still register its cleanup.
      const results = await Promise.allSettled(authorizations.map((authz) => this.authorize(authz, type, cleanups)));
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      if (failures.length) throw new Error(failures.join('; '));
      const key = await acme.crypto.createPrivateEcdsaKey('P-256');
      // Let's Encrypt refuses a common name over 64 characters; the names in the SAN are what counts.
      const commonName = names[0].length <= 64 ? names[0] : undefined;
      const [, csr] = await acme.crypto.createCsr({ commonName, altNames: names }, key);
      const finalized = await this.client.finalizeOrder(order, csr);
      const certPem = await this.client.getCertificate(finalized);
      return { certPem, keyPem: key.toString() };
    } finally {
      for (const cleanup of cleanups) {
        await cleanup().catch((err: Error) => this.opts.log('acme.cleanup-failed', { names: names.join(','), error: err.message }));
      }
    }
  }

  private ensureAccount(): Promise<unknown> {
    // Registering with a key that already has an account returns that account: no state beyond the key.
    const contact = this.opts.email ? [`mailto:${this.opts.email}`] : [];
    this.account ??= this.client.createAccount({ termsOfServiceAgreed: true, contact }).catch((err: Error) => {
      this.account = undefined;
      throw new Error(
        `ACME account registration at ${this.opts.directoryUrl} failed: ${err.message}; check --acme-email and that the directory URL is reachable from this server`,
      );
    });
    return this.account;
  }

  private async authorize(authz: acme.Authorization, type: ChallengeType, cleanups: (() => Promise<void>)[]): Promise<void> {
    if (authz.status === 'valid') return;
    const identifier = `${authz.wildcard ? '*.' : ''}${authz.identifier.value}`;
    const challenge = authz.challenges.find((c) => c.type === type);
    if (!challenge) {
      const offered = authz.challenges.map((c) => c.type).join(', ');
      throw new Error(
        `${identifier}: the CA offers no ${type} challenge (only ${offered})${authz.wildcard ? '; a wildcard needs a DNS-01 hook' : ''}`,
      );
    }
    const keyAuthorization = await this.client.getChallengeKeyAuthorization(challenge);
    let completed = false;
    try {
      if (type === 'http-01') {
        const { challenges } = this.opts;
        cleanups.push(() => challenges.remove(challenge.token));
        await challenges.put(challenge.token, keyAuthorization);
      } else {
        const hook = this.opts.dns01 as Dns01Hook;
        const name = txtRecordName(authz.identifier.value);
        // Registered first: a set() that fails halfway may still have published the value.
        cleanups.push(() => hook.clear(name, keyAuthorization));
        await hook.set(name, keyAuthorization).catch((err: Error) => {
          throw new Error(`the DNS-01 hook could not set TXT ${name}: ${err.message}`);
        });
      }
      if (!this.opts.skipSelfCheck) await this.client.verifyChallenge(authz, challenge);
      await this.client.completeChallenge(challenge);
      completed = true;
      await this.client.waitForValidStatus(challenge);
    } catch (err) {
      // An authorization left pending counts against the account's limits until it expires.
      if (!completed) {
        await this.client
          .deactivateAuthorization(authz)
          .catch((e: Error) => this.opts.log('acme.deactivate-failed', { identifier, error: e.message }));
      }
      throw new Error(`${identifier}: ${(err as Error).message}`);
    }
  }
}
