/**
 * The agent: keeps one WebSocket to the relay open, registers a name, and forwards every stream the
 * relay opens to the local server. Reconnects with backoff and reclaims the same name. No vscode
 * imports: the CLI, the extension and the tests all use this module.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import {
  CONNECT_PATH,
  CloseCode,
  FrameType,
  MAX_FRAME_PAYLOAD,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  checkRefusal,
  checkWelcome,
  decodeJson,
  type AccessPolicy,
  type Frame,
  type Hello,
  type Refusal,
  type Welcome,
} from '../../core/protocol.js';
import { systemClock, type Clock, type Timer } from '../../core/clock.js';
import { Tunnel } from '../../core/tunnel.js';
import { newLinkKey, parsePolicy } from '../../core/access.js';
import { VERSION } from '../../core/version.js';
import { LocalTarget } from './localTarget.js';
import type { ReplayRequest, RequestRecord } from './requestRecord.js';
import { parseTarget } from './target.js';

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** Before the first success, give up after this many failed attempts (the relay is likely wrong). */
const INITIAL_ATTEMPTS = 5;
const WELCOME_TIMEOUT_MS = 10_000;
/** Bytes of each request and response body a request log keeps, unless told otherwise. */
export const DEFAULT_CAPTURE_BYTES = 256 * 1024;
/** The most a request log may keep of one body. */
export const MAX_CAPTURE_BYTES = 10 * 1024 * 1024;

export interface AgentOptions {
  /** `5173`, `localhost:5173`, `http://127.0.0.1:5173` or `https://localhost:8443`. */
  target: string;
  /** The relay's URL, e.g. `http://localhost:8080` or `https://example.dev`. */
  relay: string;
  subdomain?: string;
  token?: string;
  hostHeader?: 'rewrite' | 'preserve';
  /** Accept a self-signed certificate from an https:// local target. */
  insecureTarget?: boolean;
  /** `user:password`: the relay asks public visitors for these. */
  basicAuth?: string;
  /** Who else may open the share: a private link, an IP allow-list, open paths (checked by the relay). */
  access?: AccessChoice;
  heartbeatMs?: number;
  /** Bytes of each body kept for request logs (default DEFAULT_CAPTURE_BYTES); 0 keeps none. */
  captureBytes?: number;
  /** Compress text-like responses for visitors that accept br or gzip (default true). */
  compress?: boolean;
  /** Drives heartbeats and the wait for WELCOME; tests pass one they advance by hand. */
  clock?: Clock;
}

/** The access rules of a share besides its password, as its owner picks them. */
export interface AccessChoice {
  /** Only visitors who opened the private link (a key the agent makes, kept for the agent's life). */
  privateLink?: boolean;
  /** IPv4/IPv6 ranges or addresses that may open the share. */
  allowIps?: string[];
  /** Path globs anyone may reach, past the password, the link and the allow-list. */
  openPaths?: string[];
}

export type AgentErrorCode = Refusal['code'] | 'unreachable';

/** Why the agent stopped for good; `message` is written for a person. */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type AgentState =
  | { status: 'connecting'; attempt: number }
  | { status: 'live'; url: string; since: number; link?: string }
  | { status: 'reconnecting'; attempt: number; retryAt: number; reason: string }
  | { status: 'failed'; error: AgentError }
  | { status: 'stopped' };

export interface AgentEvents {
  state: [AgentState];
  request: [RequestRecord];
  log: ['info' | 'warn' | 'error', string];
}

export class Agent extends EventEmitter<AgentEvents> {
  readonly target: URL;
  readonly relayUrl: URL;
  private readonly local: LocalTarget;
  private current: AgentState = { status: 'connecting', attempt: 0 };
  private tunnel?: Tunnel;
  private subdomain?: string;
  private resume = randomBytes(18).toString('base64url');
  private everLive = false;
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;
  private nextRequestId = 1;
  private startPromise?: Promise<string>;
  private localClosed?: Promise<void>;
  /** The access policy sent in every HELLO; undefined for a share without one. */
  private readonly policy?: AccessPolicy;
  private readonly clock: Clock;

  constructor(private readonly options: AgentOptions) {
    super();
    const target = parseTarget(options.target);
    if ('error' in target) throw new Error(target.error);
    this.policy = accessPolicy(options.access);
    this.target = new URL(target.origin);
    this.relayUrl = relayEndpoint(options.relay);
    this.subdomain = options.subdomain?.toLowerCase();
    this.clock = options.clock ?? systemClock;
    this.local = new LocalTarget(
      this.target,
      { hostHeader: options.hostHeader ?? 'rewrite', insecure: options.insecureTarget ?? false, compress: options.compress ?? true },
      checkCaptureBytes(options.captureBytes ?? DEFAULT_CAPTURE_BYTES),
    );
  }

  get state(): AgentState {
    return this.current;
  }

  get url(): string | undefined {
    return this.current.status === 'live' ? this.current.url : undefined;
  }

  /** The private link (the URL with its key) while live, for a share that has one. */
  get link(): string | undefined {
    return this.current.status === 'live' ? this.current.link : undefined;
  }

  /** Connects; resolves with the public URL, or rejects with an AgentError when the relay says no. */
  start(): Promise<string> {
    this.startPromise ??= new Promise<string>((resolve, reject) => {
      const onState = (state: AgentState) => {
        if (state.status === 'live') resolve(state.url);
        else if (state.status === 'failed') reject(state.error);
        else if (state.status === 'stopped') reject(new AgentError('unreachable', 'Sharing was stopped before the tunnel came up.'));
        else return;
        this.off('state', onState);
      };
      this.on('state', onState);
      this.connect();
    });
    return this.startPromise;
  }

  /** Stops sharing: the relay frees the name at once. */
  async stop(): Promise<void> {
    if (this.current.status === 'stopped') return;
    if (this.current.status === 'failed') return this.closeLocal();
    clearTimeout(this.retryTimer);
    const tunnel = this.tunnel;
    this.setState({ status: 'stopped' });
    if (tunnel?.isOpen) {
      const closed = new Promise((resolve) => tunnel.ws.once('close', resolve));
      tunnel.close(CloseCode.normal, 'sharing stopped');
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    } else {
      tunnel?.ws.terminate();
    }
    await this.closeLocal();
  }

  /** Bytes of each body kept for request logs, from the next request on. */
  set captureBytes(bytes: number) {
    this.local.captureBytes = checkCaptureBytes(bytes);
  }

  get captureBytes(): number {
    return this.local.captureBytes;
  }

  /**
   * Sends a request to the local server (a logged one as it was, or edited) as a replay of the
   * request `replayOf` (its record id); the result is also emitted as 'request'.
   */
  async replay(request: ReplayRequest, replayOf: number): Promise<RequestRecord> {
    const result = await this.local.replay(request, this.nextRequestId++, replayOf);
    this.emit('request', result);
    return result;
  }

  private connect(): void {
    if (this.current.status === 'stopped' || this.current.status === 'failed') return;
    this.setState({ status: 'connecting', attempt: this.attempt });
    const masking = maskingNeeded(this.relayUrl) ? 'random-key' : 'zero-key';
    const ws = new WebSocket(this.relayUrl, {
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
      headers: { 'user-agent': `porthole-agent/${VERSION}` },
      ...(masking === 'zero-key' ? { generateMask: zeroMask } : {}),
    });
    let refusal: Refusal | undefined;
    let welcomed = false;
    let goingAway = false;
    /** Streams are served only once WELCOME came and, for a share with access rules, confirmed them. */
    let serving = false;
    // A relay that accepts the socket but never answers HELLO would leave the agent connecting forever.
    let welcomeTimer: Timer | undefined;
    const tunnel = new Tunnel(
      ws,
      {
        control: (frame: Frame) => {
          if (frame.type === FrameType.Welcome && !welcomed && !refusal) {
            const welcome = checkWelcome(decodeJson<Welcome>(frame, 'WELCOME'));
            this.clock.cancel(welcomeTimer);
            welcomed = true;
            if (this.policy && !welcome.access) {
              refusal = { code: 'version', message: olderRelay(this.options.relay) };
              return tunnel.close(CloseCode.normal, 'the relay cannot enforce the access rules');
            }
            serving = true;
            this.welcomed(welcome);
          } else if (frame.type === FrameType.Refuse && !refusal) {
            // Before WELCOME (a wrong token, a taken name) or after it (the operator revoked the token).
            refusal = checkRefusal(decodeJson<Refusal>(frame, 'REFUSE'));
            this.clock.cancel(welcomeTimer);
          } else if (frame.type === FrameType.GoAway) {
            goingAway = true;
          } else {
            throw new ProtocolError(`the relay sent frame type ${frame.type} on stream 0 ${welcomed ? 'after WELCOME' : 'before WELCOME'}`);
          }
        },
        // A relay that breaks the protocol is named in the reconnect message; an exception is a bug to report.
        fault: (error, stream) => {
          if (error instanceof ProtocolError) return;
          const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
          this.emit('log', 'error', `Internal error${stream ? ` on stream ${stream}` : ''}, please report it: ${detail}`);
        },
        open: (stream, head) => {
          if (!serving) return stream.reset('cancelled', 'the agent serves nothing before the relay confirmed its access rules');
          const id = this.nextRequestId++;
          this.local.forward(stream, head, id, this.listenerCount('request') > 0 ? (r) => this.emit('request', r) : undefined);
        },
        closed: (code, reason) => {
          if (this.tunnel !== tunnel) return;
          this.tunnel = undefined;
          if (refusal) return this.fail(new AgentError(refusal.code, refusal.message));
          this.scheduleReconnect(goingAway ? 'the relay restarted' : describeClose(code, reason, connectError), goingAway);
        },
      },
      { masking, clock: this.clock },
    );
    let connectError: string | undefined;
    ws.on('error', (error) => {
      connectError ??= error.message;
    });
    ws.on('unexpected-response', (_req, res) => {
      const httpsOrigin = this.relayUrl.protocol === 'ws:' ? originOf(res.headers.location, 'https:') : undefined;
      connectError = httpsOrigin
        ? `the relay serves HTTPS only: use --relay ${httpsOrigin}`
        : `the relay answered HTTP ${res.statusCode} instead of accepting the WebSocket (is ${this.options.relay} a Porthole relay?)`;
      ws.terminate();
    });
    ws.on('close', () => this.clock.cancel(welcomeTimer));
    ws.on('open', () => {
      welcomeTimer = this.clock.after(WELCOME_TIMEOUT_MS, () =>
        tunnel.close(CloseCode.protocolError, `the relay did not answer within ${WELCOME_TIMEOUT_MS / 1000} s`),
      );
      const hello: Hello = {
        protocol: PROTOCOL_VERSION,
        agent: VERSION,
        token: this.options.token,
        subdomain: this.subdomain,
        resume: this.resume,
        basicAuth: this.options.basicAuth,
      };
      if (this.policy) hello.access = this.policy;
      tunnel.sendControl(FrameType.Hello, hello);
    });
    this.tunnel = tunnel;
  }

  private welcomed(welcome: Welcome): void {
    this.subdomain = welcome.subdomain;
    this.resume = welcome.resume;
    this.everLive = true;
    this.attempt = 0;
    if (this.tunnel) {
      this.tunnel.sendFrameLimit = welcome.maxFrame ?? MAX_FRAME_PAYLOAD;
      this.tunnel.startHeartbeat(this.options.heartbeatMs ?? welcome.heartbeat * 1000);
    }
    this.local.setPublicUrl(welcome.url);
    this.setState({ status: 'live', url: welcome.url, since: Date.now(), link: welcome.link });
  }

  private scheduleReconnect(reason: string, soon: boolean): void {
    if (this.current.status === 'stopped' || this.current.status === 'failed') return;
    this.attempt++;
    if (!this.everLive && this.attempt >= INITIAL_ATTEMPTS) {
      return this.fail(
        new AgentError(
          'unreachable',
          `Could not reach the relay at ${this.options.relay} after ${this.attempt} attempts: ${reason}. Check the relay URL and that the relay is running.`,
        ),
      );
    }
    // Full jitter: spreads a crowd of agents that lost the same relay over the whole backoff window.
    const ceiling = soon ? FIRST_RETRY_MS : Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.attempt - 1));
    const delay = Math.round(Math.random() * ceiling);
    this.emit('log', 'warn', `Tunnel to ${this.options.relay} lost (${reason}); retrying in ${(delay / 1000).toFixed(1)} s.`);
    this.setState({ status: 'reconnecting', attempt: this.attempt, retryAt: Date.now() + delay, reason });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private fail(error: AgentError): void {
    this.setState({ status: 'failed', error });
    void this.closeLocal();
  }

  private closeLocal(): Promise<void> {
    this.localClosed ??= this.local.close();
    return this.localClosed;
  }

  private setState(state: AgentState): void {
    this.current = state;
    this.emit('state', state);
  }
}

/** The HELLO's access policy for a choice, with a fresh link key; undefined when nothing is chosen. Throws on a bad range or glob. */
function accessPolicy(choice: AccessChoice | undefined): AccessPolicy | undefined {
  const policy: AccessPolicy = {};
  if (choice?.privateLink) policy.linkKey = newLinkKey();
  if (choice?.allowIps?.length) policy.allowIps = [...choice.allowIps];
  if (choice?.openPaths?.length) policy.openPaths = [...choice.openPaths];
  if (Object.keys(policy).length === 0) return undefined;
  const parsed = parsePolicy(policy);
  if ('error' in parsed) throw new AgentError('access', parsed.error);
  return policy;
}

function olderRelay(relay: string): string {
  return `The relay at ${relay} is older than this agent and cannot enforce a private link, an IP allow-list or open paths, so nothing was shared. Update the relay, or share without those rules.`;
}

function checkCaptureBytes(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_CAPTURE_BYTES) {
    throw new RangeError(`The capture size must be a whole number of bytes from 0 to ${MAX_CAPTURE_BYTES}, not ${bytes}.`);
  }
  return bytes;
}

/** The WebSocket URL for a relay given as http(s):// or ws(s)://, with or without a path. */
export function relayEndpoint(relay: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(relay) ? relay : `http://${relay}`);
  } catch {
    throw new AgentError('unreachable', `"${relay}" is not a relay URL. Use one like https://example.dev or http://localhost:8080.`);
  }
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol))
    throw new AgentError('unreachable', `The relay URL must start with http://, https://, ws:// or wss://, not ${url.protocol}//.`);
  return new URL(`${secure ? 'wss' : 'ws'}://${url.host}${CONNECT_PATH}`);
}

/**
 * RFC 6455 masks client frames so that a transparent proxy on the path cannot be tricked into
 * caching attacker-chosen bytes. Inside TLS, or on loopback, no such proxy can read the frames, and
 * masking is a third of the agent's and relay's CPU on bulk transfers (ws skips a zero mask).
 */
function maskingNeeded(url: URL): boolean {
  return url.protocol === 'ws:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) && !url.hostname.endsWith('.localhost');
}

/** The origin of `location` when it is a URL with `protocol`; a relay's Location header is the relay's text, not a promise. */
function originOf(location: string | undefined, protocol: string): string | undefined {
  const url = location && URL.canParse(location) ? new URL(location) : undefined;
  return url?.protocol === protocol ? url.origin : undefined;
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

function describeClose(code: number, reason: string, connectError?: string): string {
  if (connectError) return connectError;
  if (code === CloseCode.heartbeatTimeout) return 'the relay stopped answering heartbeats';
  if (code === CloseCode.protocolError) return `protocol error: ${reason}`;
  if (code === 1009) return 'a message was larger than the relay accepts (code 1009); update Porthole on both ends';
  return reason ? `${reason} (code ${code})` : `connection closed (code ${code})`;
}
