/**
 * One status-bar item per share. What each item says is decided by the pure state machine in
 * statusModel.ts; this module only copies it onto the item and refreshes items that show a
 * countdown or an uptime once a second.
 */
import * as vscode from 'vscode';
import type { Share } from './share.js';
import type { ShareManager } from './sharing.js';
import { present, type Tone } from './statusModel.js';

/** Command the items run on click; it opens the share's quick menu. */
const SHARE_MENU_COMMAND = 'porthole.shareMenu';

const BACKGROUNDS: Record<Tone, vscode.ThemeColor | undefined> = {
  normal: undefined,
  warning: new vscode.ThemeColor('statusBarItem.warningBackground'),
  error: new vscode.ThemeColor('statusBarItem.errorBackground'),
};

interface Entry {
  item: vscode.StatusBarItem;
  onChange: () => void;
  ticking: boolean;
}

export class StatusBar implements vscode.Disposable {
  private readonly entries = new Map<Share, Entry>();
  private ticker?: NodeJS.Timeout;
  private readonly onAdded = (share: Share) => this.add(share);
  private readonly onRemoved = (share: Share) => this.remove(share);

  constructor(private readonly manager: ShareManager) {
    manager.on('added', this.onAdded);
    manager.on('removed', this.onRemoved);
    for (const share of manager.shares) this.add(share);
  }

  /** What the item of a share shows now (for tests and the share menu). */
  textOf(share: Share): string | undefined {
    return this.entries.get(share)?.item.text;
  }

  dispose(): void {
    this.manager.off('added', this.onAdded);
    this.manager.off('removed', this.onRemoved);
    for (const share of [...this.entries.keys()]) this.remove(share);
    clearInterval(this.ticker);
  }

  private add(share: Share): void {
    const item = vscode.window.createStatusBarItem(`porthole.share.${share.id}`, vscode.StatusBarAlignment.Left, -100);
    item.name = `Porthole ${share.target.label}`;
    item.command = { command: SHARE_MENU_COMMAND, title: 'Porthole: share menu', arguments: [share.id] };
    const entry: Entry = { item, ticking: false, onChange: () => this.render(share, entry) };
    share.on('change', entry.onChange);
    this.entries.set(share, entry);
    this.render(share, entry);
    item.show();
  }

  private remove(share: Share): void {
    const entry = this.entries.get(share);
    if (!entry) return;
    share.off('change', entry.onChange);
    entry.item.dispose();
    this.entries.delete(share);
    this.updateTicker();
  }

  private render(share: Share, entry: Entry): void {
    const view = present(share.status, Date.now());
    const { item } = entry;
    // Assigning an unchanged value still repaints the item (and a visible tooltip): skip those.
    if (item.text !== view.text) item.text = view.text;
    if (item.tooltip !== view.tooltip) item.tooltip = view.tooltip;
    if (item.backgroundColor !== BACKGROUNDS[view.tone]) item.backgroundColor = BACKGROUNDS[view.tone];
    if (item.accessibilityInformation?.label !== view.accessibility) item.accessibilityInformation = { label: view.accessibility };
    if (entry.ticking !== view.ticking) {
      entry.ticking = view.ticking;
      this.updateTicker();
    }
  }

  private updateTicker(): void {
    const needed = [...this.entries.values()].some((e) => e.ticking);
    if (needed && !this.ticker) {
      this.ticker = setInterval(() => {
        for (const [share, entry] of this.entries) if (entry.ticking) this.render(share, entry);
      }, 1000);
    } else if (!needed && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }
}
