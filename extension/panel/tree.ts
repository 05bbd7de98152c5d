/**
 * The Porthole view in the panel (beside Terminal and Ports): live shares with their URL, state,
 * access preset and request count, and the ports listening on this machine with their process and
 * page title. Inline actions call the extension's commands with the row's share or port, so the
 * view, the palette and the status-bar menu share one implementation. Ports are scanned only while
 * the view is visible.
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../commandIds.js';
import { PortWatcher } from '../ports/portWatcher.js';
import { labelHttp } from '../ports/httpProbe.js';
import type { ListeningPort } from '../ports/portRanking.js';
import { parseTarget } from '../agent/target.js';
import type { ShareManager } from '../sharing.js';
import { Share } from '../share.js';
import { present, shareRow } from '../statusModel.js';

const VIEW_ID = 'porthole.shares';

type Group = { kind: 'group'; id: 'shares' | 'ports' };
/** A listening port; `target` makes it a valid argument of the Share Port command. */
interface PortNode {
  kind: 'port';
  port: ListeningPort;
  target: string;
}
type Node = Group | Share | PortNode;

const GROUPS: Group[] = [
  { kind: 'group', id: 'shares' },
  { kind: 'group', id: 'ports' },
];
/** Rows of busy shares repaint at most this often. */
const REFRESH_MS = 500;

export class PortholeTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly view: vscode.TreeView<Node>;
  private readonly ports = new Map<number, ListeningPort>();
  private watcher?: PortWatcher;
  private readonly dirty = new Set<Node>();
  private refreshTimer?: NodeJS.Timeout;
  private readonly listeners = new Map<Share, () => void>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly onAdded = (share: Share) => this.watch(share);
  private readonly onRemoved = (share: Share) => this.unwatch(share);

  constructor(
    private readonly manager: ShareManager,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this, showCollapseAll: false });
    manager.on('added', this.onAdded);
    manager.on('removed', this.onRemoved);
    for (const share of manager.shares) this.watch(share);
    this.disposables.push(
      this.view,
      this.changed,
      this.view.onDidChangeVisibility(() => this.scanWhileVisible()),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('porthole.autoDetect')) this.scanWhileVisible();
      }),
    );
    this.scanWhileVisible();
  }

  getChildren(node?: Node): Node[] {
    if (!node) return GROUPS;
    if (node instanceof Share || node.kind !== 'group') return [];
    if (node.id === 'shares') return [...this.manager.shares];
    const shared = new Set(this.manager.shares.filter((s) => s.active).map((s) => s.target.key));
    return [...this.ports.values()]
      .map((port): PortNode => ({ kind: 'port', port, target: targetOf(port) }))
      .filter((p) => !shared.has((parseTarget(p.target) as { key: string }).key));
  }

  getParent(node: Node): Node | undefined {
    if (node instanceof Share) return GROUPS[0];
    return node.kind === 'port' ? GROUPS[1] : undefined;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node instanceof Share) return shareItem(node);
    if (node.kind === 'port') return portItem(node);
    return this.groupItem(node);
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.manager.off('added', this.onAdded);
    this.manager.off('removed', this.onRemoved);
    for (const share of [...this.listeners.keys()]) this.unwatch(share);
    this.watcher?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private groupItem(group: Group): vscode.TreeItem {
    const detect = vscode.workspace.getConfiguration('porthole').get<boolean>('autoDetect', true);
    const shares = this.manager.shares.length;
    const item = new vscode.TreeItem(group.id === 'shares' ? 'Shared' : 'Listening ports', vscode.TreeItemCollapsibleState.Expanded);
    item.id = `group-${group.id}`;
    item.contextValue = `porthole.group.${group.id}`;
    item.description =
      group.id === 'shares'
        ? shares
          ? String(shares)
          : 'nothing shared yet'
        : detect
          ? this.ports.size
            ? ''
            : 'none found'
          : 'detection is off';
    item.tooltip = group.id === 'ports' && !detect ? 'Turn on porthole.autoDetect to list listening ports here.' : undefined;
    return item;
  }

  private watch(share: Share): void {
    const onChange = () => this.schedule(share);
    this.listeners.set(share, onChange);
    share.on('change', onChange);
    this.schedule(...GROUPS); // the ports group too: a shared port leaves it
  }

  private unwatch(share: Share): void {
    const onChange = this.listeners.get(share);
    if (onChange) share.off('change', onChange);
    this.listeners.delete(share);
    this.dirty.delete(share);
    this.schedule(...GROUPS);
  }

  /**
   * Coalesces repaints, and repaints only what changed: a share doing 100 requests a second repaints
   * its row twice a second, and ports coming and going repaint the ports group, never a share's row.
   */
  private schedule(...nodes: Node[]): void {
    for (const node of nodes) this.dirty.add(node);
    this.refreshTimer ??= setTimeout(() => {
      this.refreshTimer = undefined;
      const dirty = [...this.dirty];
      this.dirty.clear();
      // The shares group repaints its rows too.
      const sharesGroup = dirty.includes(GROUPS[0]);
      for (const node of dirty) if (!(node instanceof Share && sharesGroup)) this.changed.fire(node);
    }, REFRESH_MS);
  }

  private scanWhileVisible(): void {
    const detect = vscode.workspace.getConfiguration('porthole').get<boolean>('autoDetect', true);
    if (this.view.visible && detect && !this.watcher) {
      const watcher = new PortWatcher();
      this.watcher = watcher;
      watcher.on('added', (port) => void this.addPort(port));
      watcher.on('removed', (port) => {
        this.ports.delete(port.port);
        this.schedule(GROUPS[1]);
      });
      watcher.on('problem', (message) => this.log.warn(`Porthole view: ${message}`));
    } else if ((!this.view.visible || !detect) && this.watcher) {
      this.watcher.dispose();
      this.watcher = undefined;
      this.ports.clear();
      this.schedule(GROUPS[1]);
    }
  }

  private async addPort(port: ListeningPort): Promise<void> {
    this.ports.set(port.port, port);
    this.schedule(GROUPS[1]);
    const [labelled] = await labelHttp([port]);
    if (this.ports.get(port.port) === port) this.ports.set(port.port, labelled);
    this.schedule(GROUPS[1]);
  }
}

function targetOf(port: ListeningPort): string {
  return `http://${port.host.includes(':') ? `[${port.host}]` : port.host}:${port.port}`;
}

function shareItem(share: Share): vscode.TreeItem {
  const row = shareRow(share.status);
  const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
  item.id = `share-${share.id}`;
  item.description = row.description;
  item.iconPath = new vscode.ThemeIcon(row.icon);
  item.tooltip = present(share.status, Date.now()).tooltip;
  // `.link` marks a share with a private link: its row also offers Copy Private Link.
  item.contextValue = `porthole.share.${row.state}${share.link ? '.link' : ''}`;
  item.accessibilityInformation = { label: `${row.label}: ${row.description}` };
  // A click on a live share's row opens its request log, as the status item's menu would.
  if (row.state !== 'failed') item.command = { command: COMMANDS.showLog, title: 'Show Request Log', arguments: [share] };
  return item;
}

function portItem(node: PortNode): vscode.TreeItem {
  const { port } = node;
  const item = new vscode.TreeItem(String(port.port), vscode.TreeItemCollapsibleState.None);
  item.id = `port-${port.port}`;
  const title = port.http?.title ? `“${port.http.title}”` : '';
  item.description = [port.processName ?? 'unknown process', title].filter(Boolean).join(' · ');
  item.tooltip = [
    `${node.target}${port.http ? ` answers HTTP ${port.http.status}` : ''}`,
    port.commandLine ? `Command: ${port.commandLine}` : '',
    port.pid ? `PID ${port.pid}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  item.iconPath = new vscode.ThemeIcon(port.category === 'dev-server' ? 'server-process' : 'plug');
  item.contextValue = 'porthole.port';
  item.accessibilityInformation = { label: `Port ${port.port}, ${item.description}` };
  return item;
}
