/**
 * Several shares at once: one agent, one request log and one status per local server, plus the
 * embedded relay used when no relay URL is configured. No vscode imports: the extension wires the
 * UI to these events, and tests can drive it directly.
 */
import { EventEmitter } from 'node:events';
import { Agent, type AgentState } from './agent/agent.js';
import type { AccessChoice } from './agent/accessChoice.js';
import { AgentError } from './agent/relayConnection.js';
import { describeAccess, type ShareAccess } from './accessPresets.js';
import type { RequestRecord } from './agent/requestRecord.js';
import { RequestLog, type LogEntry } from './requestLog/requestLog.js';
import { replayRequest, type ReplayEdits } from './requestLog/replayEdits.js';
import { initialStatus, nextStatus, type ShareStatus } from './statusModel.js';
import type { Target } from './agent/target.js';
import { startEmbeddedRelay } from '../relay/embedded.js';
import type { Relay } from '../relay/server.js';
import { createLog } from '../relay/log.js';

export interface ShareSettings {
  /** Empty: the embedded relay on this machine. */
  relayUrl: string;
  subdomain: string;
  hostHeader: 'rewrite' | 'preserve';
  maxEntries: number;
  /** Bytes of each body the request log keeps. */
  captureBytes: number;
  /** Port the embedded relay tries first (0: any free port). */
  localRelayPort: number;
  /** Compress text-like responses for visitors that accept it. */
  compress: boolean;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ShareEnvironment {
  settings(): ShareSettings;
  /** The token stored for this relay, if any. */
  token(relayUrl: string): Promise<string | undefined>;
  log: Logger;
}

export interface ShareRequest {
  target: Target;
  /** `user:password` protecting the public URL. */
  basicAuth?: string;
  /** Who else may open it: a private link, an IP allow-list, open paths. */
  access?: AccessChoice;
}

/** The share was stopped (by the user, or by deactivation) before it came up: nothing to report. */
export class ShareStoppedError extends Error {
  override name = 'ShareStoppedError';
}

interface ShareEvents {
  change: [ShareStatus];
  request: [LogEntry<RequestRecord>];
  cleared: [];
}

export class Share extends EventEmitter<ShareEvents> {
  readonly log: RequestLog<RequestRecord>;
  status: ShareStatus;

  constructor(
    readonly id: number,
    readonly request: ShareRequest,
    readonly agent: Agent,
    relay: { url: string; embedded: boolean },
    maxEntries: number,
    /** The name asked of the relay, if any (the relay may still pick another). */
    readonly subdomain?: string,
  ) {
    super();
    this.log = new RequestLog(maxEntries);
    this.status = initialStatus({
      label: request.target.label,
      local: request.target.url,
      relay: relay.url,
      relayEmbedded: relay.embedded,
      access: describeAccess(request.basicAuth, request.access),
    });
    agent.on('state', (state) => this.update({ type: 'state', state }));
    agent.on('request', (record) => {
      const entry = this.log.add(record);
      if (record.replayOf === undefined) this.update({ type: 'request' });
      this.emit('request', entry);
    });
  }

  get target(): Target {
    return this.request.target;
  }

  get url(): string | undefined {
    return this.status.url;
  }

  /** The private link (the URL with its key) while live, for a share that has one. */
  get link(): string | undefined {
    return this.agent.link;
  }

  /** Who can open the share: its preset (public, password, private link, IP allow-list) and open paths. */
  get access(): ShareAccess {
    return this.status.access;
  }

  get state(): AgentState {
    return this.status.state;
  }

  /** True until the share failed or was stopped: the agent can still reach the local server. */
  get active(): boolean {
    return this.state.status !== 'failed' && this.state.status !== 'stopped';
  }

  /**
   * Sends a logged request to the local server again, as it was or with edits; resolves with the
   * new log entry, which names the original as the request it replays.
   */
  async replay(seq: number, edits?: ReplayEdits): Promise<LogEntry<RequestRecord>> {
    const entry = this.log.get(seq);
    if (!entry) throw new Error(`Request #${seq} is no longer in the log (it keeps the last ${this.log.capacity}).`);
    if (!this.active) throw new Error(`Sharing ${this.target.url} has stopped; share it again to replay requests.`);
    const request = replayRequest(entry.record, edits);
    if (typeof request === 'string') throw new Error(request);
    const result = await this.agent.replay(request, entry.record.id);
    return this.log.findLast((record) => record === result) ?? this.log.add(result);
  }

  /** The entry a replayed entry replays, while it is still in the log. */
  originalOf(record: RequestRecord): LogEntry<RequestRecord> | undefined {
    const id = record.replayOf;
    return id === undefined ? undefined : this.log.findLast((r) => r.id === id);
  }

  clearLog(): void {
    this.log.clear();
    this.emit('cleared');
  }

  private update(event: Parameters<typeof nextStatus>[1]): void {
    this.status = nextStatus(this.status, event);
    this.emit('change', this.status);
  }
}

interface ManagerEvents {
  added: [Share];
  removed: [Share];
}

export class ShareManager extends EventEmitter<ManagerEvents> {
  private readonly list: Share[] = [];
  private nextId = 1;
  private embedded?: Promise<Relay>;

  constructor(private readonly env: ShareEnvironment) {
    super();
  }

  get shares(): readonly Share[] {
    return this.list;
  }

  find(key: string): Share | undefined {
    return this.list.find((s) => s.target.key === key || String(s.id) === key || s.url === key);
  }

  /**
   * Shares a local server and resolves once it is live. An existing active share of the same server
   * is returned as is. A refusal (wrong token, taken name…) rejects with an AgentError and leaves the
   * share listed in its failed state, so its status entry can show why until it is dismissed.
   */
  async share(request: ShareRequest): Promise<Share> {
    const existing = this.find(request.target.key);
    const share = existing?.active ? existing : await this.create(request, existing);
    try {
      await share.agent.start();
    } catch (error) {
      if (share.state.status === 'stopped') throw new ShareStoppedError(`Sharing ${request.target.url} was stopped before it came up.`);
      throw error;
    }
    return share;
  }

  private async create(request: ShareRequest, replacing?: Share): Promise<Share> {
    if (replacing) await this.stop(replacing);
    const settings = this.env.settings();
    const relay = await this.relay(settings);
    const token = relay.embedded ? undefined : await this.env.token(relay.url);
    const subdomain = this.subdomainFor(settings.subdomain, request.target);
    const agent = new Agent({
      target: request.target.input,
      relay: relay.url,
      token,
      basicAuth: request.basicAuth,
      access: request.access,
      subdomain,
      hostHeader: settings.hostHeader,
      compress: settings.compress,
      // Dev servers on this machine serve https with self-signed certificates, and that traffic never
      // leaves the machine; a server elsewhere must have a certificate that verifies.
      insecureTarget: request.target.key.startsWith('https://localhost:'),
      captureBytes: settings.captureBytes,
    });
    const share = new Share(this.nextId++, request, agent, relay, settings.maxEntries, subdomain);
    agent.on('log', (level, message) => this.env.log[level](`${request.target.label}: ${message}`));
    agent.on('state', (state) => this.logState(share, state));
    this.list.push(share);
    this.emit('added', share);
    return share;
  }

  /** Starts a failed share over with the current settings and token. */
  async retry(share: Share): Promise<Share> {
    await this.stop(share);
    return this.share(share.request);
  }

  async stop(share: Share): Promise<void> {
    const index = this.list.indexOf(share);
    if (index < 0) return;
    this.list.splice(index, 1);
    await share.agent.stop();
    this.emit('removed', share);
    if (this.list.length === 0) await this.closeEmbeddedRelay();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.list].map((share) => this.stop(share)));
    await this.closeEmbeddedRelay();
  }

  /** Applies changed request-log settings to the shares already running. */
  configureLogs(settings: Pick<ShareSettings, 'maxEntries' | 'captureBytes'>): void {
    for (const share of this.list) {
      share.log.resize(settings.maxEntries);
      share.agent.captureBytes = settings.captureBytes;
    }
  }

  private subdomainFor(preferred: string, target: Target): string | undefined {
    const name = preferred.trim().toLowerCase();
    if (!name) return undefined;
    const inUse = this.list.some((s) => s.active && (s.subdomain === name || (s.url && new URL(s.url).hostname.split('.')[0] === name)));
    // Several shares cannot hold one name: later ones get the port appended, which stays predictable.
    return inUse ? `${name}-${new URL(target.url).port}` : name;
  }

  private async relay(settings: ShareSettings): Promise<{ url: string; embedded: boolean }> {
    if (settings.relayUrl.trim()) return { url: settings.relayUrl.trim(), embedded: false };
    this.embedded ??= this.startEmbeddedRelay(settings.localRelayPort);
    try {
      return { url: (await this.embedded).url, embedded: true };
    } catch (error) {
      this.embedded = undefined;
      throw error;
    }
  }

  private async startEmbeddedRelay(port: number): Promise<Relay> {
    const log = createLog('text', (line) => this.env.log.info(`relay: ${line.trimEnd()}`));
    try {
      const { relay, busyPort } = await startEmbeddedRelay(log, port);
      // Another relay (or another VS Code window's) holds the port: any free port works as well.
      if (busyPort !== undefined) this.env.log.warn(`Port ${busyPort} is in use; the embedded relay took port ${relay.httpPort} instead.`);
      return relay;
    } catch (error) {
      throw new AgentError('unreachable', `The embedded relay could not start on 127.0.0.1:${port}: ${(error as Error).message}`);
    }
  }

  private async closeEmbeddedRelay(): Promise<void> {
    const embedded = this.embedded;
    this.embedded = undefined;
    if (!embedded) return;
    let relay: Relay;
    try {
      relay = await embedded;
    } catch (error) {
      // The share that started it was already told why; with no relay running there is nothing to close.
      this.env.log.info(`The embedded relay never started (${(error as Error).message}), so there is none to stop.`);
      return;
    }
    await relay.close(0);
  }

  private logState(share: Share, state: AgentState): void {
    const label = share.target.label;
    if (state.status === 'live') this.env.log.info(`${label}: live at ${state.url}`);
    else if (state.status === 'failed') this.env.log.error(`${label}: ${state.error.code}: ${state.error.message}`);
    else if (state.status === 'reconnecting') this.env.log.warn(`${label}: reconnecting (attempt ${state.attempt}): ${state.reason}`);
    else if (state.status === 'stopped') this.env.log.info(`${label}: stopped`);
  }
}
