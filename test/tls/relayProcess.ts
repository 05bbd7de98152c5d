/**
 * The built relay (`node relay`) and agent (`dist/cli.js share`) as real processes for the TLS
 * tests, and clients that check certificates as a browser does. Names under `.test` resolve to
 * 127.0.0.1 in the child processes through resolve-test-names.cjs.
 */
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { root, run, startRelayProcess, type Child, type RelayProcess } from '../helpers';
import { waitFor, withTimeout } from './support.js';

const SHIM = path.join(__dirname, 'resolve-test-names.cjs');
/** Every process started here, for stopProcesses. */
const children: Child[] = [];

/** A `node relay` process (test/helpers' startRelayProcess) that also says which certificates it ordered. */
export interface TlsRelay extends RelayProcess {
  /** The ACME orders it logged so far: which names, and why (start-up, on demand, renewal). */
  orders(): { names: string; reason: string }[];
}

const withShim = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, NODE_OPTIONS: `--require "${SHIM}"` });

/** `node relay` with `.test` names on 127.0.0.1; resolves once it logged relay.listening (after its start-up certificate). */
export async function startTlsRelay(args: string[]): Promise<TlsRelay> {
  const child = await startRelayProcess(args, withShim({}));
  children.push(child);
  return Object.assign(child, {
    orders: () =>
      child
        .log()
        .filter((e) => e.event === 'acme.order')
        .map((e) => ({ names: String(e.names), reason: String(e.reason) })),
  });
}

/** The flags of a relay for `domain`, plain HTTP on `httpPort` and HTTPS on `httpsPort`. */
export function domainArgs(domain: string, httpPort: number, httpsPort: number): string[] {
  return ['--domain', domain, '--http-port', String(httpPort), '--https-port', String(httpsPort)];
}

/** The flags of a relay for `domain` with ACME from `directory`, its state in `dir`. */
export function acmeArgs(domain: string, directory: string, dir: string, httpPort: number, httpsPort: number): string[] {
  return [
    ...domainArgs(domain, httpPort, httpsPort),
    '--acme-directory',
    directory,
    '--acme-email',
    `ops@${domain}`,
    '--data-dir',
    dir,
    '--acme-skip-self-check',
  ];
}

/** `porthole share` of `originPort` against an HTTPS relay, trusting `caFile` for the relay's certificates. */
export async function shareTls(
  originPort: number,
  relayUrl: string,
  caFile: string,
  extra: string[] = [],
): Promise<Child & { url: string }> {
  const child = run(
    [path.join(root, 'dist/cli.js'), 'share', String(originPort), '--relay', relayUrl, ...extra, '--json'],
    withShim({ NODE_EXTRA_CA_CERTS: caFile }),
  );
  children.push(child);
  const url = await waitFor(
    async () => {
      if (child.process.exitCode !== null) throw new Error(`porthole share exited ${child.process.exitCode}: ${child.err}`);
      return child.events().find((e) => e.event === 'ready')?.url as string | undefined;
    },
    15_000,
    `the agent to be ready (it said: ${child.err})`,
  );
  return Object.assign(child, { url });
}

export interface TlsReply {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  names: string;
  serial: string;
}

/** A browser-like HTTPS request (chain and host name verified) to 127.0.0.1:`port` for `host`. */
export function fetchTls(port: number, host: string, ca: Buffer, requestPath = '/hello'): Promise<TlsReply> {
  return withTimeout(
    new Promise<TlsReply>((resolve, reject) => {
      const req = https.get(
        { host: '127.0.0.1', port, servername: host, path: requestPath, headers: { host: `${host}:${port}` }, ca, agent: false },
        (res) => {
          const cert = (res.socket as TLSSocket).getPeerCertificate();
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (d: string) => {
              body += d;
            })
            .on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                body,
                headers: res.headers,
                names: cert.subjectaltname ?? '',
                serial: cert.serialNumber,
              }),
            );
        },
      );
      req.on('error', reject);
    }),
    15_000,
    `GET https://${host}:${port}${requestPath}`,
  );
}

/** A plain HTTP GET to 127.0.0.1:`port` with `host` as its Host. */
export function httpGet(
  port: number,
  host: string,
  requestPath: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: requestPath, headers: { host, ...headers }, agent: false }, (res) => {
          let body = '';
          res
            .setEncoding('utf8')
            .on('data', (d: string) => {
              body += d;
            })
            .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        })
        .on('error', reject);
    }),
    10_000,
    `GET http://${host}${requestPath}`,
  );
}

/** Stops these processes (each at most once; undefined ones are skipped). */
export async function stopAll(...handles: (Child | undefined)[]): Promise<void> {
  await Promise.all(handles.map((h) => h?.stop()));
}

/** Stops every process started here: a suite's after. */
export function stopProcesses(): Promise<void> {
  return stopAll(...children.splice(0));
}
