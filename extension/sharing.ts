/**
 * Several shares at once (share.ts: one agent, one request log and one status per local server),
 * plus the embedded relay used when no relay URL is configured. No vscode imports: the extension
 * wires the UI to these events, and tests can drive it directly.
 */
import { EventEmitter } from 'node:events';
import { Agent, type AgentState } from './agent/agent.js';
import { Share, type ShareRequest } from './share.js';
import { AgentError } from './agent/relayConnection.js';
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

/** The share was stopped (by the user, or by deactivation) before it came up: nothing to report. */
export class ShareStoppedError extends Error {
  override name = 'ShareStoppedError';
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
