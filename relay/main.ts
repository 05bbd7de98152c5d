/** `node relay`: parses flags, starts the relay, and stops it gracefully on SIGTERM/SIGINT. */
import fs from 'node:fs';
import { ConfigError, USAGE, parseConfig, readTokensFile, type TlsConfig } from './config.js';
import { createLog, type Log } from './log.js';
import { startRelay, type CertificateSource } from './relay.js';

function fileCertificates(tls: Extract<TlsConfig, { kind: 'files' }>): CertificateSource {
  const read = (file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new ConfigError(`Cannot read ${file}: ${(error as Error).message}`);
    }
  };
  const cert = read(tls.certFile);
  const key = read(tls.keyFile);
  return { serverOptions: () => ({ cert, key }), handleHttpChallenge: () => false, expiries: () => [], stop: () => undefined };
}

async function certificatesFor(tls: TlsConfig | undefined, domain: string, log: Log): Promise<CertificateSource | undefined> {
  if (!tls) return undefined;
  if (tls.kind === 'files') return fileCertificates(tls);
  log('relay.acme-unavailable', { domain });
  throw new ConfigError('ACME certificates are not available in this build yet; use --tls-cert/--tls-key.');
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  if (!config) {
    console.log(USAGE);
    return;
  }
  const log = createLog(config.logFormat);
  const certificates = await certificatesFor(config.tls, config.domain, log);
  const relay = await startRelay(config, certificates, log);
  if (config.logFormat === 'text') {
    console.log(`Porthole relay ready at ${relay.url}`);
    console.log(`Share a port through it: npx porthole share 5173 --relay ${relay.url}`);
  }

  const startupFileTokens = config.tokensFile ? readTokensFile(config.tokensFile) : [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return process.exit(1);
    stopping = true;
    log('relay.stopping', { signal });
    await relay.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (!config.tokensFile) return;
    try {
      const fromFile = readTokensFile(config.tokensFile);
      const tokens = [...config.tokens.filter((t) => !startupFileTokens.includes(t)), ...fromFile];
      relay.setTokens(tokens);
      log('relay.tokens-reloaded', { count: tokens.length });
    } catch (error) {
      log('relay.tokens-reload-failed', { error: (error as Error).message });
    }
  });
}

main().catch((error: Error & { code?: string }) => {
  if (error instanceof ConfigError) console.error(`porthole relay: ${error.message}`);
  else if (error.code === 'EADDRINUSE') console.error(`porthole relay: ${error.message}. Another program uses that port: stop it, or pick another with --http-port.`);
  else if (error.code === 'EACCES') console.error(`porthole relay: ${error.message}. Ports below 1024 need privileges: see "Deploy a relay" in the README (setcap or a systemd socket).`);
  else console.error(`porthole relay: ${error.stack ?? error.message}`);
  process.exit(2);
});
