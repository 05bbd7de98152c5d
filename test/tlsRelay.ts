/**
 * A real relay over TLS for the HTTP/2 and compression tests: a self-signed certificate made with
 * openssl for DOMAIN and *.DOMAIN, an in-process relay serving it, agents as `porthole share`
 * processes that trust it, and HTTP/2 and curl clients that reach <name>.DOMAIN on 127.0.0.1.
 * (Certificate checks refuse a wildcard right under a top-level name, so not *.localhost.)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import type { RelayConfig } from '../relay/config';
import { startRelay, type Relay } from '../relay/server';
import { staticCertificate } from '../relay/tls/staticCertificate';
import { quietLog, share, type Child } from './helpers';
import { selfSignedCertificate } from './selfSigned.cjs';

/** The relay's domain; the agents resolve it and its names to 127.0.0.1 (test/tls/resolve-test-names.cjs). */
export const DOMAIN = 'porthole.test';
const RESOLVE_TEST_NAMES = path.join(__dirname, 'tls', 'resolve-test-names.cjs');

export interface Certificate {
  certFile: string;
  keyFile: string;
  pem: Buffer;
}

/** A self-signed certificate for DOMAIN and *.DOMAIN, in a folder removed when the process exits. */
export function makeCertificate(): Certificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-tls-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  selfSignedCertificate({ cert: certFile, key: keyFile, names: [DOMAIN, `*.${DOMAIN}`], days: 2 });
  return { certFile, keyFile, pem: fs.readFileSync(certFile) };
}

/** An in-process relay on free ports serving HTTPS with `certificate` (HTTP/2 unless told otherwise). */
export async function tlsRelay(certificate: Certificate, options: Partial<RelayConfig> = {}): Promise<Relay & { httpsPort: number }> {
  const { certFile, keyFile } = certificate;
  const relay = await startRelay({
    config: { httpPort: 0, domain: DOMAIN, tls: { kind: 'files', httpsPort: 0, certFile, keyFile }, ...options },
    certificates: staticCertificate(certFile, keyFile),
    log: quietLog,
  });
  return Object.assign(relay, { httpsPort: relay.httpsPort as number });
}

/** `porthole share` as a process, trusting the relay's certificate; `host` is the public host:port. */
export async function shareOverTls(
  relay: Relay,
  certificate: Certificate,
  target: number,
  args: string[] = [],
): Promise<Child & { url: string; host: string }> {
  const child = await share([String(target), '--relay', relay.url, ...args], {
    NODE_EXTRA_CA_CERTS: certificate.certFile,
    NODE_OPTIONS: `--require "${RESOLVE_TEST_NAMES}"`,
  });
  return Object.assign(child, { host: new URL(child.url).host });
}

/** An HTTP/2 connection to the relay at 127.0.0.1 for `host` (SNI and :authority), verifying the certificate. */
export function connectH2(port: number, host: string, certificate: Certificate): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://${host}`, {
      ca: certificate.pem,
      servername: host.replace(/:\d+$/, ''),
      lookup: (_name, options, callback) =>
        options.all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4),
      port,
    } as http2.SecureClientSessionOptions);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

export interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request on an HTTP/2 session, collecting the whole answer. */
export function h2Request(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: Buffer | string,
  timeoutMs = 10_000,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), timeoutMs);
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      head = h;
    });
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => {
      clearTimeout(timer);
      resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) });
    });
    stream.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      if (stream.rstCode) reject(new Error(`stream reset with code ${stream.rstCode}`));
    });
    if (body !== undefined) stream.end(body);
  });
}

/** A GET over HTTPS with HTTP/1.1 (Node's https client offers no h2), to `host` on 127.0.0.1:`port`. */
export function http1Get(
  port: number,
  host: string,
  certificate: Certificate,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; version: string; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port,
          path,
          servername: host.replace(/:\d+$/, ''),
          headers: { host, ...headers },
          ca: certificate.pem,
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, version: res.httpVersion, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      )
      .on('error', reject);
  });
}

export interface CurlResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** curl against `url`, with its host reached on 127.0.0.1:`port` and the test certificate trusted. */
export function curl(port: number, certificate: Certificate, args: string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-s', '--cacert', certificate.certFile, '--connect-to', `::127.0.0.1:${port}`, '-m', '30', ...args],
      { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() }),
    );
  });
}
