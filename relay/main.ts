/** `node relay`: parses flags, starts the relay, and stops it gracefully on SIGTERM/SIGINT. */
import { CertificateManager } from './tls/certificates.js';
import { loadDns01Hook } from './tls/dns01.js';
import type { CertificateSource } from './tls/source.js';
import { staticCertificate } from './tls/staticCertificate.js';
import { isLoopback } from '../core/addresses.js';
import { defaultAdvertise } from './clusterConfig.js';
import { FlagError, parseConfig, readTokensFile, type RelayConfig } from './config.js';
import { createLog, type Log } from './log.js';
import type { Registry } from './registry.js';
import { startRelay } from './server.js';
import { StartupError } from './startupError.js';
import { USAGE } from './usage.js';
import type { ClusterNode } from './cluster/node.js';

/** Certificates from files or from ACME; ACME issues only for names whose tunnel is live right now. */
async function certificatesFor(
  config: RelayConfig,
  isLiveName: (subdomain: string) => boolean | Promise<boolean>,
  log: Log,
  cluster?: ClusterNode,
): Promise<CertificateSource | undefined> {
  const tls = config.tls;
  if (!tls) return undefined;
  if (tls.kind === 'files') return staticCertificate(tls.certFile, tls.keyFile, { log });
  return new CertificateManager({
    domain: config.domain,
    email: tls.email,
    directoryUrl: tls.directory,
    dataDir: tls.dataDir,
    skipSelfCheck: tls.skipSelfCheck,
    isLiveName,
    dns01: tls.dnsHook ? await loadDns01Hook(tls.dnsHook) : undefined,
    log,
    ...cluster?.certificateStorage(tls.directory),
  });
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  if (!config) {
    console.log(USAGE);
    return;
  }
  const plainLog = createLog(config.logFormat);
  let log: Log = plainLog;
  let cluster: ClusterNode | undefined;
  if (config.cluster) {
    // Every line says which node wrote it: its URL for the other nodes, known now or (with --http-port 0) once it joined.
    const known = config.cluster.advertise ?? (config.httpPort === 0 ? undefined : defaultAdvertise(config.host, config.httpPort));
    log = (event, fields) => plainLog(event, { node: cluster?.url || known, ...fields });
    // Loaded only here: a relay without --redis never evaluates the cluster's code or its libraries.
    const { startCluster } = await import('./cluster/node.js');
    cluster = await startCluster({
      redisUrl: config.cluster.redisUrl,
      clusterSecret: config.cluster.secret,
      advertise: config.cluster.advertise,
      gracePeriodMs: config.gracePeriodMs,
      maxTunnelsPerToken: config.maxTunnelsPerToken,
      log,
    });
  }
  if (config.tls && isLoopback(config.host)) {
    // A public certificate on a loopback-only relay is almost always a forgotten --host; ACME would then fail with a DNS hint.
    log('relay.loopback-only', {
      host: config.host,
      hint: 'only this machine can reach the relay: to serve the internet, pass --host 0.0.0.0 (or set PORTHOLE_HOST)',
    });
  }
  let registry: Registry | undefined;
  const isLiveName = cluster
    ? (subdomain: string) => (cluster as ClusterNode).isLive(subdomain)
    : (subdomain: string) => Boolean(registry?.lookup(subdomain)?.tunnel);
  const certificates = await certificatesFor(config, isLiveName, log, cluster);
  const relay = await startRelay({ config, certificates, log, cluster });
  registry = relay.registry;
  if (config.logFormat === 'text') {
    console.log(`Porthole relay ready at ${relay.url}`);
    console.log(`Share a port through it: npx porthole share 5173 --relay ${relay.url}`);
  }

  const startupFileTokens = config.tokensFile ? readTokensFile(config.tokensFile) : [];
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return process.exit(1);
    stopping = true;
    const started = Date.now();
    log('relay.stopping', { signal });
    await relay.close();
    log('relay.stopped', { ms: Date.now() - started });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  const flagTokens = config.tokens.filter((t) => !startupFileTokens.includes(t));
  let tokenCount = config.tokens.length;
  process.on('SIGHUP', () => {
    if (!config.tokensFile) {
      log('relay.tokens-reload-skipped', { why: 'SIGHUP re-reads --tokens-file, and this relay has none' });
      return;
    }
    try {
      const tokens = [...flagTokens, ...readTokensFile(config.tokensFile)];
      if (tokens.length === 0 && tokenCount > 0) {
        throw new Error(
          `${config.tokensFile} has no tokens: kept the ${tokenCount} current ones, because an empty list would let anyone open tunnels. To shut everyone out, stop the relay.`,
        );
      }
      const revoked = relay.setTokens(tokens);
      tokenCount = tokens.length;
      log('relay.tokens-reloaded', { count: tokens.length, revoked });
    } catch (error) {
      log('relay.tokens-reload-failed', { error: (error as Error).message });
    }
  });
}

main().catch((error: Error) => {
  // A mistake in the set-up says what to do; anything else is a bug, and its stack helps whoever reports it.
  if (error instanceof StartupError) console.error(`porthole relay: ${error.message}${error instanceof FlagError ? `\n\n${USAGE}` : ''}`);
  else console.error(`porthole relay: ${error.stack ?? error.message}`);
  process.exit(2);
});
