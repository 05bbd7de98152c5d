/**
 * Bring your own certificate (--tls-cert, --tls-key), e.g. a wildcard from certbot or a company CA.
 * The files are re-read when they change (checked every `reloadIntervalMs`), so an external renewal
 * reaches the running relay without a restart.
 */
import fs from 'node:fs';
import type tls from 'node:tls';
import { parseCertificate, type CertificateRecord } from './certificateStore.js';
import type { CertificateLog, CertificateSource, SniCallback } from './source.js';
import { StartupError } from '../startupError.js';

export interface StaticCertificateOptions {
  /** Default: one hour. */
  reloadIntervalMs?: number;
  log?: CertificateLog;
}

function read(certPath: string, keyPath: string): CertificateRecord {
  try {
    return parseCertificate(certPath, fs.readFileSync(certPath, 'utf8'), fs.readFileSync(keyPath, 'utf8'));
  } catch (err) {
    throw new StartupError(
      `Cannot use --tls-cert ${certPath} with --tls-key ${keyPath}: ${(err as Error).message}; pass a PEM certificate chain and its private key`,
    );
  }
}

function modified(...files: string[]): string {
  return files
    .map((f) => {
      try {
        return fs.statSync(f).mtimeMs;
      } catch {
        return 'missing';
      }
    })
    .join('/');
}

/** Reads both files now and throws a message for a person when they are unusable. */
export function staticCertificate(certPath: string, keyPath: string, options: StaticCertificateOptions = {}): CertificateSource {
  let record = read(certPath, keyPath);
  let stamp = modified(certPath, keyPath);
  const servers = new Set<tls.Server>();
  const log = options.log ?? (() => undefined);

  const reload = (): void => {
    const now = modified(certPath, keyPath);
    if (now === stamp) return;
    try {
      record = read(certPath, keyPath);
      stamp = now;
      for (const server of servers) server.setSecureContext({ cert: record.certPem, key: record.keyPem });
      log('tls.reloaded', { cert: certPath, serial: record.serial, notAfter: record.notAfter.toISOString() });
    } catch (err) {
      // Probably caught between writing the certificate and the key: keep serving the old pair, try again later.
      log('tls.reload-failed', { cert: certPath, error: (err as Error).message });
    }
  };
  const timer = setInterval(reload, options.reloadIntervalMs ?? 60 * 60 * 1000);
  timer.unref();

  const sniCallback: SniCallback = (_servername, cb) => cb(null, record.context);
  return {
    start: async () => undefined,
    sniCallback,
    serverOptions: () => ({ SNICallback: sniCallback, cert: record.certPem, key: record.keyPem }),
    attach(server) {
      servers.add(server);
      server.setSecureContext({ cert: record.certPem, key: record.keyPem });
    },
    handleHttpChallenge: () => false,
    expiries: () => [{ name: record.names.join(',') || certPath, notAfter: record.notAfter }],
    stop() {
      clearInterval(timer);
      servers.clear();
    },
  };
}
