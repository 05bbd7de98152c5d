/**
 * The request-log panel of a share: a webview that lists requests live, searches and filters them,
 * shows one in detail and acts on it (replay, edit and replay, compare, copy as cURL, export HAR).
 * New rows are posted in batches (at most one message per 100 ms), filtered here rather than in
 * the page, so a tunnel doing 100 requests a second costs the page ten small updates a second. A
 * hidden panel gets nothing; when it shows again its page asks for a reset. The log itself lives
 * with the share, so closing and reopening the panel loses nothing.
 */
import * as vscode from 'vscode';
import type { RequestRecord } from '../agent/requestRecord.js';
import type { Share } from '../share.js';
import type { Logger } from '../sharing.js';
import { compare } from './compare.js';
import { toCurl } from './curl.js';
import { matchesFilter, NO_FILTER, readFilter, type LogFilter } from './filter.js';
import { toDetail, toRow } from './format.js';
import { harJson } from './har.js';
import { writeHarFile } from './harFile.js';
import { makeNonce, renderShell } from './html.js';
import type { FromPage, ToPage } from './messages.js';
import { readEdits, type ReplayEdits } from './replayEdits.js';
import type { LogEntry } from './requestLog.js';

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

class RequestLogPanel implements vscode.Disposable {
  private readonly panel: vscode.WebviewPanel;
  private filter: LogFilter = NO_FILTER;
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

  private notice(text: string, tone: 'info' | 'error' = 'info'): void {
    if (tone === 'error') this.log.error(`${this.share.target.label}: ${text}`);
    this.post({ type: 'notice', text, tone });
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

  private shown(): LogEntry<RequestRecord>[] {
    return this.share.log.entries().filter((e) => matchesFilter(e.record, this.filter));
  }

  private reset(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
    this.statusChanged = false;
    const rows = this.shown().map((e) => toRow(e.seq, e.record));
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

  private detail(entry: LogEntry<RequestRecord>): void {
    this.post({ type: 'detail', detail: toDetail(entry.seq, entry.record, this.share.originalOf(entry.record)?.seq) });
  }

  private receive(message: unknown): void {
    const m = message as Partial<FromPage> & Record<string, unknown>;
    const entry = typeof m?.seq === 'number' ? this.share.log.get(m.seq) : undefined;
    switch (m?.type) {
      case 'ready':
        return this.reset();
      case 'filter':
        this.filter = readFilter(m.filter);
        return this.reset();
      case 'clear':
        this.share.clearLog();
        return this.post({ type: 'detail', detail: null });
      case 'select':
        if (entry) return this.detail(entry);
        return this.post({ type: 'detail', detail: null });
      case 'replay': {
        if (!entry) return;
        const edits = m.edits === undefined ? undefined : readEdits(m.edits);
        if (m.edits !== undefined && !edits) return this.notice('Replay failed: the edited request was incomplete.', 'error');
        return void this.replay(entry, edits);
      }
      case 'compare':
        if (entry) this.compare(entry);
        return;
      case 'copyCurl':
        if (entry) void this.copyCurl(entry);
        return;
      case 'exportHar':
        void this.exportHar();
        return;
      default:
        this.log.warn(`Request log: ignored an unexpected message from the page: ${JSON.stringify(message)?.slice(0, 200)}`);
    }
  }

  private async replay(entry: LogEntry<RequestRecord>, edits?: ReplayEdits): Promise<void> {
    try {
      const replayed = await this.share.replay(entry.seq, edits);
      this.flush();
      this.notice('');
      this.post({ type: 'select', seq: replayed.seq });
      this.detail(replayed);
    } catch (error) {
      this.notice(`Replay failed: ${(error as Error).message}`, 'error');
    }
  }

  private compare(entry: LogEntry<RequestRecord>): void {
    const original = this.share.originalOf(entry.record);
    if (!original)
      return this.notice('The request this one replays is no longer in the log, so there is nothing to compare with.', 'error');
    this.post({ type: 'comparison', comparison: compare(original.seq, original.record, entry.seq, entry.record) });
  }

  /** The URL a logged request came in at: the public URL, or the local server for a replay. */
  private baseUrl(record: RequestRecord): string {
    return record.replayOf === undefined ? (this.share.status.url ?? this.share.target.url) : this.share.target.url;
  }

  private async copyCurl(entry: LogEntry<RequestRecord>): Promise<void> {
    const url = this.share.status.url;
    if (!url) return this.notice('The share has no public URL yet, so there is nothing for curl to call.', 'error');
    await vscode.env.clipboard.writeText(
      toCurl(entry.record, url, { basicAuth: this.share.request.basicAuth, privateLink: this.share.link }),
    );
    this.notice(`Copied a curl command for ${entry.record.method} ${entry.record.path.slice(0, 80)}.`);
  }

  private async exportHar(): Promise<void> {
    const entries = this.shown();
    if (entries.length === 0) return this.notice('No requests are listed, so there is nothing to export.', 'error');
    const name = `porthole-${this.share.target.label.replace(/[^\w.-]+/g, '')}-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.har`;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      title: `Export ${entries.length} request${entries.length === 1 ? '' : 's'} as HAR`,
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: { 'HTTP Archive (HAR)': ['har'] },
      saveLabel: 'Export',
    });
    if (!uri) return;
    try {
      const sources = entries.map((e) => ({ record: e.record, baseUrl: this.baseUrl(e.record) }));
      const options = { keepMore: 'the porthole.requestLog.captureBytes setting' };
      // A local file is written entry by entry; another file system takes the document whole.
      if (uri.scheme === 'file') await writeHarFile(uri.fsPath, sources, options);
      else await vscode.workspace.fs.writeFile(uri, Buffer.concat([...harJson(sources, options), '\n'].map((text) => Buffer.from(text))));
      this.notice(`Saved ${entries.length} request${entries.length === 1 ? '' : 's'} to ${uri.fsPath || uri.toString()} (HAR 1.2).`);
    } catch (error) {
      this.notice(`Could not save the HAR file: ${(error as Error).message}`, 'error');
    }
  }
}
