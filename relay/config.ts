/**
 * The relay's settings: flags, each with a PORTHOLE_* environment variable, and the embedded
 * defaults that make a bare `node relay` a working local relay on http://*.localhost:8080.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { isLoopback } from '../core/addresses.js';
import { DATA_FRAME_BYTES, MAX_FRAME_PAYLOAD } from '../core/protocol.js';
import { DEFAULT_IPV6_PREFIX, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS, defaultMaxConnections } from './connectionLimits.js';
import { clusterConfig, type ClusterConfig } from './clusterConfig.js';
import { WELL_KNOWN_PORT } from './publicUrl.js';
import { ConfigError } from './startupError.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DOMAIN = 'localhost';
export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;
export const DEFAULT_MAX_STREAMS_PER_TUNNEL = 128;
export const DEFAULT_MAX_TUNNELS_PER_TOKEN = 16;
export const DEFAULT_GRACE_SECONDS = 60;
export const DEFAULT_HEARTBEAT_SECONDS = 15;
/** A TLS handshake, and then each request head, must be complete this long after it began. */
export const DEFAULT_HEAD_TIMEOUT_SECONDS = 10;
/** An idle keep-alive connection is closed after this long. */
export const DEFAULT_KEEP_ALIVE_SECONDS = 30;
/** Node's http server wants a head timeout no longer than its whole-request timeout (300 s). */
const MAX_HEAD_TIMEOUT_SECONDS = 300;
const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
export const DEFAULT_DATA_DIR = '.porthole';

export interface RelayConfig {
  host: string;
  domain: string;
  httpPort: number;
  /** --public-url: the port visitors and agents use, when a balancer or port forward in front has another than the listener's. */
  publicPort?: number;
  /** Agent tokens; empty means "no token needed", allowed only on loopback. */
  tokens: string[];
  tokensFile?: string;
  adminToken?: string;
  gracePeriodMs: number;
  heartbeatMs: number;
  maxHeaderBytes: number;
  maxStreamsPerTunnel: number;
  maxTunnelsPerToken: number;
  maxFramePayload: number;
  /** Connections on the public listeners at once, agents included; the top tenth is kept for agents and the apex. */
  maxConnections: number;
  /** Connections from one client address (or IPv6 prefix); 0: no limit (behind a proxy that bounds them). */
  maxConnectionsPerAddress: number;
  /** IPv6 clients are counted per prefix of this many bits. */
  ipv6Prefix: number;
  headTimeoutMs: number;
  keepAliveTimeoutMs: number;
  logFormat: 'text' | 'json';
  /** Offer HTTP/2 to visitors on the HTTPS listener (ALPN h2 beside http/1.1); --no-http2 turns it off. */
  http2: boolean;
  tls?: TlsConfig;
  /** --redis: this relay is a node of the cluster that shares this Redis. */
  cluster?: ClusterConfig;
}

export type TlsConfig = {
  httpsPort: number;
} & (
  | { kind: 'acme'; email: string; directory: string; dataDir: string; skipSelfCheck: boolean; dnsHook?: string }
  | { kind: 'files'; certFile: string; keyFile: string }
);

const OPTIONS = {
  domain: { type: 'string' },
  host: { type: 'string' },
  'http-port': { type: 'string' },
  'public-url': { type: 'string' },
  'https-port': { type: 'string' },
  token: { type: 'string', multiple: true },
  'tokens-file': { type: 'string' },
  'admin-token': { type: 'string' },
  grace: { type: 'string' },
  heartbeat: { type: 'string' },
  'max-header-size': { type: 'string' },
  'max-streams': { type: 'string' },
  'max-tunnels-per-token': { type: 'string' },
  'max-frame-size': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'ipv6-prefix': { type: 'string' },
  'head-timeout': { type: 'string' },
  'keep-alive-timeout': { type: 'string' },
  'log-format': { type: 'string' },
  'acme-email': { type: 'string' },
  'acme-directory': { type: 'string' },
  'data-dir': { type: 'string' },
  'acme-dns-hook': { type: 'string' },
  'acme-skip-self-check': { type: 'boolean' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  redis: { type: 'string' },
  'cluster-secret': { type: 'string' },
  advertise: { type: 'string' },
  'no-http2': { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export function defaultConfig(): RelayConfig {
  return {
    host: DEFAULT_HOST,
    domain: DEFAULT_DOMAIN,
    httpPort: DEFAULT_HTTP_PORT,
    tokens: [],
    gracePeriodMs: DEFAULT_GRACE_SECONDS * 1000,
    heartbeatMs: DEFAULT_HEARTBEAT_SECONDS * 1000,
    maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
    maxStreamsPerTunnel: DEFAULT_MAX_STREAMS_PER_TUNNEL,
    maxTunnelsPerToken: DEFAULT_MAX_TUNNELS_PER_TOKEN,
    maxFramePayload: MAX_FRAME_PAYLOAD,
    maxConnections: defaultMaxConnections(),
    maxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    ipv6Prefix: DEFAULT_IPV6_PREFIX,
    headTimeoutMs: DEFAULT_HEAD_TIMEOUT_SECONDS * 1000,
    keepAliveTimeoutMs: DEFAULT_KEEP_ALIVE_SECONDS * 1000,
    logFormat: 'text',
    http2: true,
  };
}

/** Reads flags, then PORTHOLE_* variables, then the defaults. Returns undefined for --help. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): RelayConfig | undefined {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true; allowPositionals: false }>>['values'];
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new FlagError((error as Error).message);
  }
  if (values.help) return undefined;
  const text = (flag: keyof typeof OPTIONS): string | undefined => {
    const value = values[flag];
    if (typeof value === 'string') return value;
    return env[`PORTHOLE_${flag.toUpperCase().replace(/-/g, '_')}`] || undefined;
  };
  const number = (flag: keyof typeof OPTIONS, fallback: number, min = 0): number => {
    const raw = text(flag);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new ConfigError(`--${flag} must be a whole number of at least ${min}, not "${raw}".`);
    return value;
  };

  const config = defaultConfig();
  config.domain = (text('domain') ?? config.domain).toLowerCase().replace(/\.$/, '');
  config.host = text('host') ?? config.host;
  config.tokensFile = text('tokens-file');
  config.tokens = [
    ...(values.token ?? env.PORTHOLE_TOKENS?.split(',') ?? []),
    ...(config.tokensFile ? readTokensFile(config.tokensFile) : []),
  ]
    .map((t) => t.trim())
    .filter(Boolean);
  config.adminToken = text('admin-token');
  config.gracePeriodMs = number('grace', DEFAULT_GRACE_SECONDS) * 1000;
  config.heartbeatMs = number('heartbeat', DEFAULT_HEARTBEAT_SECONDS, 1) * 1000;
  config.maxHeaderBytes = number('max-header-size', DEFAULT_MAX_HEADER_BYTES, 1024);
  config.maxStreamsPerTunnel = number('max-streams', DEFAULT_MAX_STREAMS_PER_TUNNEL, 1);
  config.maxTunnelsPerToken = number('max-tunnels-per-token', DEFAULT_MAX_TUNNELS_PER_TOKEN, 1);
  config.maxFramePayload = number('max-frame-size', MAX_FRAME_PAYLOAD, DATA_FRAME_BYTES);
  if (config.maxFramePayload > MAX_FRAME_PAYLOAD) throw new ConfigError(`--max-frame-size can be at most ${MAX_FRAME_PAYLOAD} bytes.`);
  config.maxConnections = number('max-connections', config.maxConnections, 16);
  config.maxConnectionsPerAddress = number('max-connections-per-ip', DEFAULT_MAX_CONNECTIONS_PER_ADDRESS);
  config.ipv6Prefix = number('ipv6-prefix', DEFAULT_IPV6_PREFIX, 1);
  if (config.ipv6Prefix > 128) throw new ConfigError('--ipv6-prefix is a number of bits, at most 128.');
  config.headTimeoutMs = number('head-timeout', DEFAULT_HEAD_TIMEOUT_SECONDS, 1) * 1000;
  if (config.headTimeoutMs > MAX_HEAD_TIMEOUT_SECONDS * 1000)
    throw new ConfigError(`--head-timeout can be at most ${MAX_HEAD_TIMEOUT_SECONDS} seconds.`);
  config.keepAliveTimeoutMs = number('keep-alive-timeout', DEFAULT_KEEP_ALIVE_SECONDS, 1) * 1000;
  const logFormat = text('log-format') ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw new ConfigError(`--log-format must be text or json, not "${logFormat}".`);
  config.logFormat = logFormat;
  config.http2 = !(values['no-http2'] || ['1', 'true', 'yes'].includes((env.PORTHOLE_NO_HTTP2 ?? '').toLowerCase()));

  const email = text('acme-email');
  const certFile = text('tls-cert');
  const keyFile = text('tls-key');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError('--tls-cert and --tls-key go together: give both files.');
  if (email && certFile) throw new ConfigError('Choose one: --acme-email (automatic certificates) or --tls-cert/--tls-key (your own).');
  const tlsOn = Boolean(email || certFile);
  config.httpPort = number('http-port', tlsOn ? WELL_KNOWN_PORT.http : DEFAULT_HTTP_PORT);
  if (email) {
    config.tls = {
      kind: 'acme',
      httpsPort: number('https-port', WELL_KNOWN_PORT.https),
      email,
      directory: text('acme-directory') ?? LETS_ENCRYPT_DIRECTORY,
      dataDir: text('data-dir') ?? DEFAULT_DATA_DIR,
      skipSelfCheck: Boolean(values['acme-skip-self-check']),
      dnsHook: text('acme-dns-hook'),
    };
  } else if (certFile && keyFile) {
    config.tls = { kind: 'files', httpsPort: number('https-port', WELL_KNOWN_PORT.https), certFile, keyFile };
  }

  config.publicPort = publicPort(text('public-url'), config.domain, tlsOn);
  config.cluster = clusterConfig(text('redis'), text('cluster-secret'), text('advertise'), config.host);

  if (config.tokens.length === 0 && !isLoopback(config.host)) {
    throw new ConfigError(
      `Refusing to listen on ${config.host} without an agent token: anyone could open tunnels on your domain.\n` +
        'Give one with --token <secret> (or PORTHOLE_TOKENS, or --tokens-file FILE). Make one with: openssl rand -hex 24',
    );
  }
  return config;
}

/** A flag the relay does not know, or one without its value: main prints the usage after the message. */
export class FlagError extends ConfigError {
  override name = 'FlagError';
}

/**
 * --public-url: the relay as visitors and agents reach it, e.g. https://example.dev:8443 behind a
 * balancer listening on 8443 while the relay listens on 443. Only its port differs from what the
 * relay knows: the scheme follows TLS and the host is --domain, so both must agree.
 */
function publicPort(raw: string | undefined, domain: string, tls: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const scheme = tls ? 'https' : 'http';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`--public-url must be a URL like ${scheme}://${domain}:8443, not "${raw}".`);
  }
  if (url.protocol !== `${scheme}:`)
    throw new ConfigError(`--public-url must start with ${scheme}:// on a relay ${tls ? 'with' : 'without'} TLS, not "${raw}".`);
  if (url.hostname !== domain)
    throw new ConfigError(`--public-url must name the relay's --domain (${domain}), not ${url.hostname}: tunnels are <name>.${domain}.`);
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password)
    throw new ConfigError(`--public-url is a scheme, host and port only, like ${scheme}://${domain}:8443, not "${raw}".`);
  return url.port ? Number(url.port) : WELL_KNOWN_PORT[scheme];
}

export function readTokensFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the tokens file ${file}: ${(error as Error).message}`);
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}
