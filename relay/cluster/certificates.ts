/**
 * Certificates shared by the nodes of a cluster, in Redis: the ACME account key, each certificate with
 * its key, and the HTTP-01 tokens of pending orders, so the CA's check may reach any node. One node
 * orders a name at a time, under a lock in Redis; the others wait, then serve what it stored. Renewal
 * therefore happens once per cluster: the first node due takes the lock, the rest find it renewed.
 *
 *   porthole:acme:<directory>:account      PEM
 *   porthole:acme:<directory>:cert:<name>  "<cert PEM>\n\n<key PEM>"
 *   porthole:acme:<directory>:lock:<name>  the ordering node's id          PX 3 min
 *   porthole:acme:challenge:<token>        key authorization                PX 10 min
 */
import { parseCertificate, type CertificateRecord } from '../tls/certificateStore.js';
import type { CertificateStorage, HttpChallenges } from '../tls/storage.js';
import type { Log } from '../log.js';
import type { RedisLink } from './redis.js';
import { script } from './redis.js';

/** An order (account, authorizations, validation, finalization) takes seconds; a node that dies holding the lock frees it after this. */
const LOCK_MS = 3 * 60_000;
const LOCK_POLL_MS = 250;
const CHALLENGE_MS = 10 * 60_000;
const SEPARATOR = '\n\n';

const UNLOCK = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

export class RedisCertificateStore implements CertificateStorage {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisLink,
    directoryUrl: string,
    private readonly nodeId: string,
    private readonly log: Log,
  ) {
    const url = new URL(directoryUrl);
    this.prefix = `porthole:acme:${url.host}${url.pathname.replace(/\/+$/, '')}:`;
  }

  async init(): Promise<void> {}

  async accountKey(create: () => Promise<Buffer>): Promise<Buffer> {
    const key = `${this.prefix}account`;
    const stored = await this.redis.get(key);
    if (stored) return Buffer.from(stored);
    const made = await create();
    // Two nodes starting together: the first key stored is everyone's.
    if (await this.redis.setIfAbsent(key, made.toString())) return made;
    return Buffer.from((await this.redis.get(key)) ?? made.toString());
  }

  async load(name: string): Promise<CertificateRecord | undefined> {
    const stored = await this.redis.get(`${this.prefix}cert:${name}`);
    if (!stored) return undefined;
    const split = stored.indexOf(SEPARATOR);
    try {
      return parseCertificate(name, stored.slice(0, split), stored.slice(split + SEPARATOR.length));
    } catch (err) {
      throw new Error(`the certificate for ${name} stored in Redis is unusable: ${(err as Error).message}`);
    }
  }

  async save(name: string, certPem: string, keyPem: string): Promise<CertificateRecord> {
    const record = parseCertificate(name, certPem, keyPem);
    await this.redis.set(`${this.prefix}cert:${name}`, `${certPem.trim()}${SEPARATOR}${keyPem.trim()}\n`);
    return record;
  }

  async exclusive<T>(name: string, task: () => Promise<T>): Promise<T> {
    const lock = `${this.prefix}lock:${name}`;
    const deadline = Date.now() + LOCK_MS;
    while (!(await this.redis.setIfAbsent(lock, this.nodeId, LOCK_MS))) {
      if (Date.now() > deadline) throw new Error(`another relay node has been ordering ${name} for ${LOCK_MS / 60_000} minutes`);
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    try {
      return await task();
    } finally {
      await this.redis.run(UNLOCK, [lock], [this.nodeId]).catch((error: Error) =>
        this.log('cluster.acme-unlock-failed', {
          name,
          error: error.message,
          next: `the lock expires by itself within ${LOCK_MS / 60_000} minutes`,
        }),
      );
    }
  }
}

export class RedisChallenges implements HttpChallenges {
  constructor(private readonly redis: RedisLink) {}

  async put(token: string, keyAuthorization: string): Promise<void> {
    await this.redis.set(`porthole:acme:challenge:${token}`, keyAuthorization, CHALLENGE_MS);
  }

  async remove(token: string): Promise<void> {
    await this.redis.del(`porthole:acme:challenge:${token}`);
  }

  async get(token: string): Promise<string | undefined> {
    if (!/^[\w-]{1,256}$/.test(token)) return undefined;
    return (await this.redis.get(`porthole:acme:challenge:${token}`)) ?? undefined;
  }
}
