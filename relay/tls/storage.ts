/**
 * Where a CertificateManager keeps what outlives one order: the ACME account key, the certificates,
 * and the HTTP-01 tokens while an order is pending. One relay keeps them in --data-dir and in memory
 * (certificateStore.ts, MemoryChallenges); a cluster keeps them in Redis, so every node serves what
 * one node ordered (relay/cluster/certificates.ts).
 */
import type { CertificateRecord } from './certificateStore.js';

export interface CertificateStorage {
  init(): Promise<void>;
  /** The account key, made with `create` and saved on first use. */
  accountKey(create: () => Promise<Buffer>): Promise<Buffer>;
  /** The stored certificate for `name`, or undefined; throws when it is unusable. */
  load(name: string): Promise<CertificateRecord | undefined>;
  save(name: string, certPem: string, keyPem: string): Promise<CertificateRecord>;
  /** Runs `task` as the only orderer of `name` (across the cluster, for a shared store). */
  exclusive<T>(name: string, task: () => Promise<T>): Promise<T>;
}

/** HTTP-01 tokens and their key authorizations while an order waits for the CA's check. */
export interface HttpChallenges {
  put(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
  get(token: string): Promise<string | undefined>;
}

/** The tokens of this process's own orders. */
export class MemoryChallenges implements HttpChallenges {
  private readonly tokens = new Map<string, string>();

  async put(token: string, keyAuthorization: string): Promise<void> {
    this.tokens.set(token, keyAuthorization);
  }

  async remove(token: string): Promise<void> {
    this.tokens.delete(token);
  }

  async get(token: string): Promise<string | undefined> {
    return this.tokens.get(token);
  }
}
