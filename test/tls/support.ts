/**
 * Shared pieces of the TLS tests: the environment from test/pebble.mjs, real servers on loopback,
 * real TLS handshakes, a log that records the manager's events, and a DNS-01 hook for challtestsrv.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Dns01Hook } from '../../relay/tls/dns01.js';
import type { CertificateSource } from '../../relay/tls/source.js';

import { withTimeout } from '../wait.cjs';

export { waitFor, withTimeout } from '../wait.cjs';

function required(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`${name} is not set: run the TLS tests under the pebble harness, e.g. node test/pebble.mjs npx uvu -r tsx test/tls`);
  return value;
}

export const acmeEnv = {
  directoryUrl: () => required('ACME_DIR'),
  issuerRoot: () => fs.readFileSync(required('ACME_ISSUER_ROOT')),
  shortDirectoryUrl: () => required('ACME_SHORT_DIR'),
  shortIssuerRoot: () => fs.readFileSync(required('ACME_SHORT_ISSUER_ROOT')),
  shortValidityMs: () => Number(required('ACME_SHORT_VALIDITY_S')) * 1000,
  challtestsrv: () => required('CHALLTESTSRV'),
  dnsServer: () => required('ACME_DNS'),
  http01Port: () => Number(required('HTTP01_PORT')),
  backoffMinMs: () => Number(process.env.ACME_BACKOFF_MIN_MS || 100),
};

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Removed when the test process exits. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `porthole-${label}-`));
  tempDirs.push(dir);
  return dir;
}

export interface LogEntry {
  event: string;
  fields: Record<string, string | number | boolean | undefined>;
  at: number;
}

/** The manager's log, kept for assertions; PORTHOLE_TEST_LOG=1 also prints it. */
export function recordingLog() {
  const entries: LogEntry[] = [];
  return {
    entries,
    log(event: string, fields: LogEntry['fields']): void {
      entries.push({ event, fields, at: Date.now() });
      if (process.env.PORTHOLE_TEST_LOG) console.log(JSON.stringify({ event, ...fields }));
    },
    count(event: string, names?: string[]): number {
      return entries.filter((e) => e.event === event && (!names || e.fields.names === names.join(','))).length;
    },
  };
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject).listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Port 80's stand-in on the harness's HTTP-01 port; `source` is whichever manager is running now. */
export async function startChallengeServer() {
  const state: { source?: CertificateSource; requests: number } = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    if (state.source?.handleHttpChallenge(req, res)) return;
    res.writeHead(404).end('not a challenge\n');
  });
  await listen(server, acmeEnv.http01Port());
  return { state, close: () => close(server) };
}

/** An HTTPS server as the relay will run it: certificates chosen by SNI, answering with the Host it saw. */
export async function startHttps(source: CertificateSource) {
  const server = https.createServer(source.serverOptions(), (req, res) => res.end(`hello ${req.headers.host}\n`));
  source.attach(server);
  const port = await listen(server, 0);
  return { port, close: () => close(server) };
}

export interface Handshake {
  authorized: boolean;
  authorizationError?: string;
  names: string;
  serial: string;
  validTo: string;
}

/** One real TLS handshake; verification is reported, not thrown, so a test can look at a rejected certificate. */
export function handshake(port: number, servername: string | undefined, ca: Buffer, timeoutMs = 10_000): Promise<Handshake> {
  return withTimeout(
    new Promise<Handshake>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false }, () => {
        const cert = socket.getPeerCertificate();
        resolve({
          authorized: socket.authorized,
          authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
          names: cert.subjectaltname ?? '',
          serial: cert.serialNumber,
          validTo: cert.valid_to,
        });
        socket.end();
      });
      socket.on('error', reject);
    }),
    timeoutMs,
    `TLS handshake for ${servername}`,
  );
}

/** A full HTTPS request with normal verification (hostname and chain), as a browser would make it. */
export function httpsGet(port: number, host: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port, servername: host, headers: { host }, ca, agent: false }, (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (d: string) => {
              body += d;
            })
            .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    }),
    10_000,
    `GET https://${host}/`,
  );
}

/**
 * DNS-01 through challtestsrv's management API. Its /clear-txt removes every value of a name, which is
 * only safe because the manager clears after the whole order; `calls` lets a test check that order.
 * `settleMs[i]` keeps the i-th set() pending that long after the record is published, like a provider
 * that is slow to confirm: another authorization may then be validated (and cleaned up) first.
 */
export function challtestsrvHook(baseUrl: string, settleMs: number[] = []) {
  const calls: { op: 'set' | 'clear'; name: string; value: string; at: number; done?: number }[] = [];
  const post = async (op: string, body: object): Promise<void> => {
    const res = await fetch(`${baseUrl}/${op}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`challtestsrv /${op} answered ${res.status}: ${await res.text()}`);
  };
  const hook: Dns01Hook = {
    async set(name, value) {
      const call = { op: 'set' as const, name, value, at: Date.now(), done: undefined as number | undefined };
      const delay = settleMs[calls.filter((c) => c.op === 'set').length] ?? 0;
      calls.push(call);
      await post('set-txt', { host: `${name}.`, value });
      await new Promise((r) => setTimeout(r, delay));
      call.done = Date.now();
    },
    async clear(name, value) {
      calls.push({ op: 'clear', name, value, at: Date.now() });
      await post('clear-txt', { host: `${name}.` });
    },
  };
  return { hook, calls };
}

/** Per-test durations, printed when the file's suite ends. */
export function timings(file: string) {
  const rows: [string, number][] = [];
  return {
    async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
      const t0 = Date.now();
      try {
        return await fn();
      } finally {
        rows.push([name, Date.now() - t0]);
      }
    },
    print(): void {
      console.log(`\n  ${file} timings:\n${rows.map(([n, ms]) => `    ${String(ms).padStart(6)} ms  ${n}`).join('\n')}`);
    },
  };
}
