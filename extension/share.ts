/**
 * One share: a local server's agent, its request log and the status the UI shows, kept up to date
 * from the agent's events. No vscode imports. ShareManager (sharing.ts) creates and stops them.
 */
import { EventEmitter } from 'node:events';
import type { Agent, AgentState } from './agent/agent.js';
import type { AccessChoice } from './agent/accessChoice.js';
import type { RequestRecord } from './agent/requestRecord.js';
import type { Target } from './agent/target.js';
import { describeAccess, type ShareAccess } from './accessPresets.js';
import { RequestLog, type LogEntry } from './requestLog/requestLog.js';
import { replayRequest, type ReplayEdits } from './requestLog/replayEdits.js';
import { initialStatus, nextStatus, type ShareStatus } from './statusModel.js';

export interface ShareRequest {
  target: Target;
  /** `user:password` protecting the public URL. */
  basicAuth?: string;
  /** Who else may open it: a private link, an IP allow-list, open paths. */
  access?: AccessChoice;
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
