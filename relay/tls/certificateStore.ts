/**
 * Certificates and the ACME account key on disk, so a restart reuses them instead of ordering again.
 *
 * Layout, one folder per ACME directory (a staging account or certificate is no good in production):
 *   <dataDir>/<directory host and path>/account.key.pem           0600
 *   <dataDir>/<directory host and path>/<name>.key.pem            0600   (<name> is `_wildcard.example.dev` for `*.example.dev`)
 *   <dataDir>/<directory host and path>/<name>.cert.pem           0644   full chain, leaf first
 * Files are written to a temporary name and renamed, so a crash never leaves half a file; the key is
 * written before the certificate and a pair that does not match is treated as missing.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import type { CertificateStorage } from './storage.js';
import { StartupError } from '../startupError.js';

/** A certificate ready to serve. */
export interface CertificateRecord {
  /** What it was obtained for: a host name, or `*.example.dev` for the wildcard (which also covers the apex). */
  name: string;
  /** DNS names in the certificate. */
  names: string[];
  serial: string;
  notBefore: Date;
  notAfter: Date;
  certPem: string;
  keyPem: string;
  context: tls.SecureContext;
}

/** Checks a certificate chain and its key and makes a TLS context; throws with the reason when unusable. */
export function parseCertificate(name: string, certPem: string, keyPem: string): CertificateRecord {
  const leaf = new X509Certificate(certPem);
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the private key does not belong to the certificate');
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4).toLowerCase());
  return {
    name,
    names,
    serial: leaf.serialNumber,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    certPem,
    keyPem,
    context: tls.createSecureContext({ cert: certPem, key: keyPem }),
  };
}

async function writeAtomically(file: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, data, { mode });
  await fs.rename(tmp, file);
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export class CertificateStore implements CertificateStorage {
  readonly dir: string;

  constructor(dataDir: string, directoryUrl: string) {
    const url = new URL(directoryUrl);
    const slug = `${url.host}${url.pathname}`.replace(/\/+$/, '').replace(/[^a-z0-9.-]+/gi, '_');
    this.dir = path.join(path.resolve(dataDir), slug);
  }

  async init(): Promise<void> {
    try {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      await fs.access(this.dir, fs.constants.W_OK);
    } catch (err) {
      throw new StartupError(
        `Cannot use the data directory ${this.dir} for certificates: ${(err as Error).message}; create it or pick another --data-dir`,
      );
    }
  }

  /** The account key, made with `create` and saved on first use; the account itself is found again by this key. */
  async accountKey(create: () => Promise<Buffer>): Promise<Buffer> {
    const file = path.join(this.dir, 'account.key.pem');
    const stored = await readIfPresent(file);
    if (stored) return Buffer.from(stored);
    const key = await create();
    await writeAtomically(file, key, 0o600);
    return key;
  }

  /** The stored certificate for `name`, or undefined when there is none; throws when the files are unusable. */
  async load(name: string): Promise<CertificateRecord | undefined> {
    const [certPem, keyPem] = await Promise.all([readIfPresent(this.file(name, 'cert')), readIfPresent(this.file(name, 'key'))]);
    if (!certPem || !keyPem) return undefined;
    try {
      return parseCertificate(name, certPem, keyPem);
    } catch (err) {
      throw new Error(`stored certificate ${this.file(name, 'cert')} is unusable: ${(err as Error).message}`);
    }
  }

  async save(name: string, certPem: string, keyPem: string): Promise<CertificateRecord> {
    const record = parseCertificate(name, certPem, keyPem);
    await writeAtomically(this.file(name, 'key'), keyPem, 0o600);
    await writeAtomically(this.file(name, 'cert'), certPem, 0o644);
    return record;
  }

  /** One process orders alone. */
  exclusive<T>(_name: string, task: () => Promise<T>): Promise<T> {
    return task();
  }

  private file(name: string, kind: 'cert' | 'key'): string {
    return path.join(this.dir, `${name.replace(/^\*\./, '_wildcard.')}.${kind}.pem`);
  }
}
