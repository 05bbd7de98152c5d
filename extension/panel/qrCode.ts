/** The QR code of a share's URL (its private link, if it has one) in a small webview, for opening the share on a phone: one panel per share, kept up to date. */
import * as vscode from 'vscode';
import { makeNonce } from '../requestLog/html.js';
import { qrSvg, renderQrPage } from './qrPage.js';
import type { Share } from '../share.js';
import type { ShareManager } from '../sharing.js';

export class QrCodePanels implements vscode.Disposable {
  private readonly panels = new Map<Share, { panel: vscode.WebviewPanel; url: string; onChange: () => void }>();
  private readonly onRemoved = (share: Share) => this.panels.get(share)?.panel.dispose();

  constructor(private readonly manager: ShareManager) {
    manager.on('removed', this.onRemoved);
  }

  /** Shows (or reveals) the QR code of a share's private link or URL; false when the share has no URL yet. */
  async show(share: Share): Promise<boolean> {
    const url = share.link ?? share.url;
    if (!url) return false;
    const open = this.panels.get(share);
    if (open) {
      open.panel.reveal();
      return true;
    }
    const panel = vscode.window.createWebviewPanel('porthole.qrCode', `QR ${share.target.label}`, vscode.ViewColumn.Active, {
      enableScripts: false,
      localResourceRoots: [],
    });
    const entry = { panel, url, onChange: () => void this.update(share) };
    this.panels.set(share, entry);
    share.on('change', entry.onChange);
    panel.onDidDispose(() => {
      share.off('change', entry.onChange);
      this.panels.delete(share);
    });
    await this.render(share, url);
    return true;
  }

  dispose(): void {
    this.manager.off('removed', this.onRemoved);
    for (const { panel } of [...this.panels.values()]) panel.dispose();
  }

  private async update(share: Share): Promise<void> {
    const entry = this.panels.get(share);
    const url = share.link ?? share.url;
    if (entry && url && url !== entry.url) {
      entry.url = url;
      await this.render(share, url);
    }
  }

  private async render(share: Share, url: string): Promise<void> {
    const entry = this.panels.get(share);
    if (!entry) return;
    entry.panel.title = `QR ${new URL(url).host}`;
    entry.panel.webview.html = renderQrPage({
      url,
      svg: await qrSvg(url),
      nonce: makeNonce(),
      local: share.status.relayEmbedded,
      privateLink: url === share.link,
    });
  }
}
