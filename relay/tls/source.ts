/** What the relay's servers need from a source of certificates: ACME (certificates.ts) or files (staticCertificate.ts). */
import type http from 'node:http';
import type tls from 'node:tls';

export type SniCallback = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => void;
/** Primitive fields only, so the relay's text and JSON loggers print them as they are. */
export type CertificateLog = (event: string, fields: Record<string, string | number | boolean | undefined>) => void;

/** What the relay's servers need, from ACME or from files (--tls-cert/--tls-key). */
export interface CertificateSource {
  start(): Promise<void>;
  readonly sniCallback: SniCallback;
  /** For https.createServer: the SNI callback, and the current default certificate for clients without SNI. */
  serverOptions(): { SNICallback: SniCallback; cert?: string; key?: string };
  /** Sets the server's default certificate (clients that send no SNI) and keeps it current on renewal. */
  attach(server: tls.Server): void;
  /** Answers `/.well-known/acme-challenge/<token>` on port 80; true when it handled the request. */
  handleHttpChallenge(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** For metrics. */
  expiries(): { name: string; notAfter: Date }[];
  stop(): void;
}
