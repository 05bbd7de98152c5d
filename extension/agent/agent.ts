/**
 * The agent: keeps one WebSocket to the relay open, registers a name, and forwards every stream the
 * relay opens to the local server. Reconnects with backoff and reclaims the same name. No vscode
 * imports: the CLI, the extension and the tests all use this module.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { CloseCode, MAX_FRAME_PAYLOAD, PROTOCOL_VERSION, type AccessPolicy, type Hello, type Welcome } from '../../core/protocol.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Tunnel } from '../../core/tunnel.js';
import { VERSION } from '../../core/version.js';
import { LocalTarget } from './localTarget.js';
import { accessPolicy, type AccessChoice } from './accessChoice.js';
import { Backoff } from './backoff.js';
import { DEFAULT_CAPTURE_BYTES, checkCaptureBytes, type ReplayRequest, type RequestRecord } from './requestRecord.js';
import { parseTarget } from './target.js';
import { AgentError, type Ending, judge, relayEndpoint, unreachable } from './relayConnection.js';
import { openSession } from './session.js';

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

/**
 * `connecting` until the tunnel first came up: try `attempt` under way, or, with `retry`, failed
 * and waiting for the next. `reconnecting` only after it was live: the wait between tries.
 */
export type AgentState =
  | { status: 'connecting'; attempt: number; retry?: { at: number; reason: string } }
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
  private current: AgentState = { status: 'connecting', attempt: 1 };
  private tunnel?: Tunnel;
  private subdomain?: string;
  private resume = randomBytes(18).toString('base64url');
  private everLive = false;
  private readonly backoff = new Backoff();
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
    this.setState({ status: 'connecting', attempt: this.backoff.attempt + 1 });
    const hello: Hello = {
      protocol: PROTOCOL_VERSION,
      agent: VERSION,
      token: this.options.token,
      subdomain: this.subdomain,
      resume: this.resume,
      basicAuth: this.options.basicAuth,
    };
    if (this.policy) hello.access = this.policy;
    const tunnel = openSession(
      { endpoint: this.relayUrl, relay: this.options.relay, hello, clock: this.clock },
      {
        welcomed: (welcome) => this.welcomed(tunnel, welcome),
        open: (stream, head) => {
          const id = this.nextRequestId++;
          this.local.forward(stream, head, id, this.listenerCount('request') > 0 ? (r) => this.emit('request', r) : undefined);
        },
        internalError: (message) => this.emit('log', 'error', message),
        closed: (outcome) => {
          if (this.tunnel !== tunnel) return;
          this.tunnel = undefined;
          if ('refusal' in outcome) this.fail(new AgentError(outcome.refusal.code, outcome.refusal.message));
          else this.ended(outcome.ending);
        },
      },
    );
    this.tunnel = tunnel;
  }

  private welcomed(tunnel: Tunnel, welcome: Welcome): void {
    this.subdomain = welcome.subdomain;
    this.resume = welcome.resume;
    this.everLive = true;
    this.backoff.reset();
    tunnel.sendFrameLimit = welcome.maxFrame ?? MAX_FRAME_PAYLOAD;
    tunnel.startHeartbeat(this.options.heartbeatMs ?? welcome.heartbeat * 1000);
    this.local.setPublicUrl(welcome.url);
    this.setState({ status: 'live', url: welcome.url, since: Date.now(), link: welcome.link });
  }

  /** A connection ended without a refusal: try again after a backoff, or stop when trying cannot help. */
  private ended(ending: Ending): void {
    if (this.current.status === 'stopped' || this.current.status === 'failed') return;
    const verdict = judge(ending, this.options.relay, this.relayUrl, this.everLive);
    if (!verdict.retry) return this.fail(verdict.error);
    const delay = this.backoff.next(verdict, this.everLive);
    if (delay === undefined) return this.fail(unreachable(this.options.relay, this.relayUrl, this.backoff.attempt, verdict.reason));
    const retryAt = Date.now() + delay;
    const wait = `${(delay / 1000).toFixed(1)} s`;
    if (this.everLive) {
      this.emit('log', 'warn', `Tunnel to ${this.options.relay} lost (${verdict.reason}); retrying in ${wait}.`);
      this.setState({ status: 'reconnecting', attempt: this.backoff.attempt, retryAt, reason: verdict.reason });
    } else {
      this.emit(
        'log',
        'warn',
        `Attempt ${this.backoff.attempt} to reach ${this.options.relay} failed (${verdict.reason}); trying again in ${wait}.`,
      );
      this.setState({ status: 'connecting', attempt: this.backoff.attempt, retry: { at: retryAt, reason: verdict.reason } });
    }
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
