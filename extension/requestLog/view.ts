/**
 * The request-log panel of a share: a webview that lists requests live, filters them, shows one in
 * detail and replays it. New rows are posted in batches (at most one message per 100 ms), filtered
 * here rather than in the page, so a tunnel doing 100 requests a second costs the page ten small
 * updates a second. A hidden panel gets nothing; when it shows again its page asks for a reset.
 */
import * as vscode from 'vscode';
import type { RequestRecord } from '../agent/requestRecord.js';
import type { LogEntry } from './requestLog.js';
import { matchesFilter, STATUS_FILTERS, toDetail, toRow, type LogFilter, type StatusFilter } from './format.js';
import { makeNonce, renderShell } from './html.js';
import type { FromPage, ToPage } from './messages.js';
import type { Logger, Share } from '../sharing.js';

const BATCH_MS = 100;

export class RequestLogPanels implements vscode.Disposable {
  private readonly panels = new Map<Share, RequestLogPanel>();

  /** `extensionUri`: where dist/webview/requestLog.js, the page script, is loaded from. */
  constructor(
    private readonly log: Logger,
    private readonly extensionUri: vscode.Uri,
  ) {}

  show(share: Share): RequestLogPanel {
    let panel = this.panels.get(share);
    if (panel) {
      panel.reveal();
    } else {
      panel = new RequestLogPanel(share, this.log, vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), () =>
        this.panels.delete(share),
      );
      this.panels.set(share, panel);
    }
    return panel;
  }

  dispose(): void {
    for (const panel of [...this.panels.values()]) panel.dispose();
  }
}

export class RequestLogPanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private filter: LogFilter = { text: '', status: 'all' };
  private pending: LogEntry<RequestRecord>[] = [];
  private statusChanged = false;
  private flushTimer?: NodeJS.Timeout;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly onRequest = (entry: LogEntry<RequestRecord>) => this.queue(entry);
  private readonly onChange = () => this.queue();
  private readonly onCleared = () => this.reset();

  constructor(
    private readonly share: Share,
    private readonly log: Logger,
    scripts: vscode.Uri,
    private readonly onDisposed: () => void,
  ) {
    const title = `Requests ${share.target.label}`;
    this.panel = vscode.window.createWebviewPanel('porthole.requestLog', title, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [scripts],
      enableFindWidget: true,
    });
    const webview = this.panel.webview;
    const scriptUri = webview.asWebviewUri(vscode.Uri.joinPath(scripts, 'requestLog.js')).toString();
    webview.html = renderShell({ cspSource: webview.cspSource, nonce: makeNonce(), title, scriptUri });
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      this.panel.onDidDispose(() => this.dispose()),
    );
    share.on('request', this.onRequest);
    share.on('change', this.onChange);
    share.on('cleared', this.onCleared);
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    clearTimeout(this.flushTimer);
    this.share.off('request', this.onRequest);
    this.share.off('change', this.onChange);
    this.share.off('cleared', this.onCleared);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.onDisposed();
  }

  private post(message: ToPage): void {
    void this.panel.webview.postMessage(message);
  }

  private queue(entry?: LogEntry<RequestRecord>): void {
    if (!this.panel.visible) return; // its page is gone; it asks for a reset when shown again
    if (entry) this.pending.push(entry);
    else this.statusChanged = true;
    this.flushTimer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const oldestSeq = this.share.log.oldestSeq;
    const entries = this.pending.filter((e) => e.seq >= oldestSeq && matchesFilter(e.record, this.filter));
    this.pending = [];
    if (entries.length > 0) this.post({ type: 'append', rows: entries.map((e) => toRow(e.seq, e.record)), oldestSeq });
    if (this.statusChanged || entries.length > 0) this.post({ type: 'status', ...this.statusLine() });
    this.statusChanged = false;
  }

  private reset(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
    this.statusChanged = false;
    const rows = this.share.log
      .entries()
      .filter((e) => matchesFilter(e.record, this.filter))
      .map((e) => toRow(e.seq, e.record));
    this.post({ type: 'reset', rows, filter: this.filter, ...this.statusLine() });
  }

  private statusLine(): { status: string; canReplay: boolean } {
    const { share } = this;
    const state = share.state;
    const where =
      state.status === 'live'
        ? `→ ${state.url}`
        : state.status === 'stopped'
          ? '(sharing stopped)'
          : state.status === 'failed'
            ? '(sharing failed)'
            : `(${state.status})`;
    const kept = share.log.size;
    return {
      status: `${share.target.url} ${where} · ${kept} request${kept === 1 ? '' : 's'} (keeps the last ${share.log.capacity})`,
      canReplay: share.active,
    };
  }

  private receive(message: unknown): void {
    const m = message as Partial<FromPage> & Record<string, unknown>;
    switch (m?.type) {
      case 'ready':
        return this.reset();
      case 'filter': {
        const filter = m.filter as Partial<LogFilter> | undefined;
        const status = STATUS_FILTERS.includes(filter?.status as StatusFilter) ? (filter?.status as StatusFilter) : 'all';
        this.filter = { text: typeof filter?.text === 'string' ? filter.text.slice(0, 500) : '', status };
        return this.reset();
      }
      case 'clear':
        this.share.clearLog();
        return this.post({ type: 'detail', detail: null });
      case 'select': {
        const entry = typeof m.seq === 'number' ? this.share.log.get(m.seq) : undefined;
        return this.post({ type: 'detail', detail: entry ? toDetail(entry.seq, entry.record) : null });
      }
      case 'replay':
        if (typeof m.seq === 'number') void this.replay(m.seq);
        return;
      default:
        this.log.warn(`Request log: ignored an unexpected message from the page: ${JSON.stringify(message)?.slice(0, 200)}`);
    }
  }

  private async replay(seq: number): Promise<void> {
    try {
      const entry = await this.share.replay(seq);
      this.flush();
      this.post({ type: 'notice', text: '' });
      this.post({ type: 'select', seq: entry.seq });
      this.post({ type: 'detail', detail: toDetail(entry.seq, entry.record) });
    } catch (error) {
      const text = `Replay failed: ${(error as Error).message}`;
      this.log.error(`${this.share.target.label}: ${text}`);
      this.post({ type: 'notice', text });
    }
  }
}
