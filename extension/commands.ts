/**
 * The commands of the extension. Each works from the command palette (asking what it needs) and
 * from `vscode.commands.executeCommand` with an argument (a port, URL or share id), which is how
 * keybindings, other extensions and the extension-host tests drive them.
 */
import * as vscode from 'vscode';
import { AgentError } from './agent/relayConnection.js';
import type { QrCodePanels } from './panel/qrCode.js';
import type { RequestLogPanels } from './requestLog/view.js';
import { pickTarget } from './sharePicker.js';
import { askCredentials, pickAccess } from './accessPicker.js';
import type { AccessPreset, RememberedAccess } from './accessPresets.js';
import type { AccessChoice } from './agent/accessChoice.js';
import { ShareStoppedError, type ShareManager } from './sharing.js';
import type { Share, ShareRequest } from './share.js';
import { findShare, oneShare, pickShares } from './whichShare.js';
import { storeRelayToken } from './relayToken.js';
import { errorReason } from './statusModel.js';
import { parseTarget, type Target } from './agent/target.js';
import { COMMANDS } from './commandIds.js';

/**
 * A share command argument: `"5173"`, a URL, or `{ target, basicAuth, access }`; `askPassword`
 * prompts for a password, `askAccess` asks "Who can open it?" as Share Port does.
 */
type ShareArgument =
  | string
  | number
  | { target: string | number; basicAuth?: string; askPassword?: boolean; access?: AccessChoice; askAccess?: boolean };

/** Where the access last chosen for a local server is kept (workspaceState). */
function accessKey(target: Target): string {
  return `porthole.access:${target.key}`;
}

export class Commands {
  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly manager: ShareManager,
    private readonly panels: RequestLogPanels,
    private readonly qrCodes: QrCodePanels,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  register(): vscode.Disposable[] {
    const on = (id: string, run: (arg?: unknown) => unknown) => vscode.commands.registerCommand(id, run);
    return [
      on(COMMANDS.share, (arg) => this.share(arg as ShareArgument | undefined)),
      on(COMMANDS.stop, (arg) => this.stop(arg)),
      on(COMMANDS.copyUrl, (arg) => this.copyUrl(arg)),
      on(COMMANDS.copyLink, (arg) => this.copyLink(arg)),
      on(COMMANDS.openUrl, (arg) => this.openUrl(arg)),
      on(COMMANDS.showLog, (arg) => this.showLog(arg)),
      on(COMMANDS.qrCode, (arg) => this.showQrCode(arg)),
      on(COMMANDS.setToken, (arg) => this.setToken(typeof arg === 'string' ? arg : undefined)),
      on(COMMANDS.menu, (arg) => this.menu(arg)),
    ];
  }

  /** Resolves with the public URL, or undefined when cancelled or refused (the user is told why). */
  async share(arg?: ShareArgument): Promise<string | undefined> {
    let request: ShareRequest;
    const options = typeof arg === 'object' ? arg : undefined;
    if (arg !== undefined && !options?.askAccess) {
      const target = parseTarget(String(options ? options.target : arg));
      if ('error' in target) return void vscode.window.showErrorMessage(`Porthole: ${target.error}`);
      let basicAuth = options?.basicAuth;
      if (options?.askPassword && !basicAuth) {
        basicAuth = await askCredentials();
        if (!basicAuth) return undefined;
      }
      request = { target, basicAuth, access: options?.access };
    } else {
      let target: Target;
      let preset: AccessPreset | undefined;
      if (options) {
        const parsed = parseTarget(String(options.target));
        if ('error' in parsed) return void vscode.window.showErrorMessage(`Porthole: ${parsed.error}`);
        target = parsed;
      } else {
        const sharedUrls = new Map(this.manager.shares.flatMap((s) => (s.url ? [[s.target.key, s.url] as const] : [])));
        const detect = vscode.workspace.getConfiguration('porthole').get<boolean>('autoDetect', true);
        const picked = await pickTarget({ detect, sharedUrls });
        if (!picked) return undefined;
        target = picked.target;
        if (picked.withPassword) preset = 'password';
      }
      const state = this.context.workspaceState;
      const access = await pickAccess(target.label, state.get<RememberedAccess>(accessKey(target)), preset);
      if (!access) return undefined;
      await state.update(accessKey(target), access.remember);
      request = { target, basicAuth: access.basicAuth, access: access.access };
    }
    return this.start(() => this.manager.share(request), request.target.label);
  }

  async start(run: () => Promise<Share>, label: string): Promise<string | undefined> {
    try {
      const share = await run();
      // biome-ignore lint/style/noNonNullAssertion: a share that started is live and has its URL
      const url = share.url!;
      const message = share.link
        ? `Porthole: ${share.target.url} is shared at ${url}, for those who have its private link`
        : `Porthole: ${share.target.url} is shared at ${url} (${share.access.label})`;
      void vscode.window
        .showInformationMessage(message, 'Open', share.link ? 'Copy Private Link' : 'Copy', 'Request Log')
        .then((action) => this.menuAction(action, share));
      return url;
    } catch (error) {
      this.reportShareError(label, error);
      return undefined;
    }
  }

  private reportShareError(label: string, error: unknown): void {
    if (error instanceof ShareStoppedError) return; // the user stopped it while it connected
    const message = error instanceof Error ? error.message : String(error);
    this.log.error(`Sharing ${label} failed: ${message}`);
    const code = error instanceof AgentError ? error.code : undefined;
    const actions = code === 'token' ? ['Set Relay Token'] : code ? ['Open Settings', 'Show Log'] : ['Show Log'];
    const reason = code ? ` (${errorReason(code)})` : '';
    void vscode.window.showErrorMessage(`Porthole could not share ${label}${reason}: ${message}`, ...actions).then((action) => {
      if (action === 'Set Relay Token') void vscode.commands.executeCommand(COMMANDS.setToken);
      else if (action === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'porthole.');
      else if (action === 'Show Log') this.log.show();
    });
  }

  async stop(arg?: unknown): Promise<boolean> {
    const shares =
      arg === undefined
        ? await pickShares(this.manager, 'Stop sharing', true)
        : [findShare(this.manager, arg)].filter((s) => s !== undefined);
    if (!shares?.length) return false;
    await Promise.all(shares.map((share) => this.manager.stop(share)));
    return true;
  }

  async copyUrl(arg?: unknown): Promise<string | undefined> {
    const share = await oneShare(this.manager, arg, 'Copy the public URL of');
    if (!share?.url) return undefined;
    await vscode.env.clipboard.writeText(share.url);
    void vscode.window.showInformationMessage(`Porthole: copied ${share.url}`);
    return share.url;
  }

  /** Copies the private link of a share that has one; resolves with it. */
  async copyLink(arg?: unknown): Promise<string | undefined> {
    const share = await oneShare(this.manager, arg, 'Copy the private link of');
    if (!share?.link) {
      if (share) void vscode.window.showInformationMessage(`Porthole: ${share.target.url} has no private link (${share.access.label}).`);
      return undefined;
    }
    await vscode.env.clipboard.writeText(share.link);
    void vscode.window.showInformationMessage('Porthole: copied the private link. Whoever opens it can open the share.');
    return share.link;
  }

  /** Opens the share in the browser; a private share by its link, so the browser gets in. */
  async openUrl(arg?: unknown): Promise<string | undefined> {
    const share = await oneShare(this.manager, arg, 'Open the public URL of');
    const url = share?.link ?? share?.url;
    if (!url) return undefined;
    await vscode.env.openExternal(vscode.Uri.parse(url));
    return url;
  }

  async showLog(arg?: unknown): Promise<boolean> {
    const share = await oneShare(this.manager, arg, 'Show the request log of');
    if (share) this.panels.show(share);
    return Boolean(share);
  }

  /** Shows the QR code of a share's public URL; false when there is no URL to show yet. */
  async showQrCode(arg?: unknown): Promise<boolean> {
    const share = await oneShare(this.manager, arg, 'Show the QR code of');
    if (!share) return false;
    if (await this.qrCodes.show(share)) return true;
    void vscode.window.showInformationMessage(`Porthole: ${share.target.url} has no public URL yet (${share.state.status}).`);
    return false;
  }

  /** Stores the token for the configured relay (an empty token removes it), then retries the shares refused for theirs. */
  async setToken(given?: string): Promise<boolean> {
    if (!(await storeRelayToken(this.context.secrets, this.log, given))) return false;
    for (const share of this.manager.shares.filter((s) => s.state.status === 'failed' && s.state.error.code === 'token')) {
      void this.start(() => this.manager.retry(share), share.target.label);
    }
    return true;
  }

  /** The quick menu behind a status-bar item. */
  async menu(arg?: unknown): Promise<void> {
    const share = findShare(this.manager, arg);
    if (!share) return;
    const items =
      share.state.status === 'failed'
        ? ['$(refresh) Retry', '$(output) Show Log', '$(close) Dismiss']
        : [
            ...(share.url ? ['$(link-external) Open in Browser', '$(copy) Copy Public URL', '$(device-mobile) Show QR Code'] : []),
            ...(share.link ? ['$(key) Copy Private Link'] : []),
            '$(list-flat) Show Request Log',
            '$(debug-stop) Stop Sharing',
          ];
    const picked = await vscode.window.showQuickPick(items, {
      title: `Porthole: ${share.target.url}${share.url ? ` → ${share.url}` : ''} (${share.access.label})`,
    });
    await this.menuAction(picked?.replace(/^\$\([\w-]+\) /, ''), share);
  }

  private async menuAction(action: string | undefined, share: Share): Promise<void> {
    try {
      await this.runMenuAction(action, share);
    } catch (error) {
      const message = `Porthole: “${action}” failed for ${share.target.url}: ${(error as Error).message}`;
      this.log.error(message);
      void vscode.window.showErrorMessage(message);
    }
  }

  private async runMenuAction(action: string | undefined, share: Share): Promise<void> {
    switch (action) {
      case 'Open':
      case 'Open in Browser':
        await this.openUrl(share.id);
        break;
      case 'Copy':
      case 'Copy Public URL':
        await this.copyUrl(share.id);
        break;
      case 'Copy Private Link':
        await this.copyLink(share.id);
        break;
      case 'Show QR Code':
        await this.showQrCode(share.id);
        break;
      case 'Request Log':
      case 'Show Request Log':
        this.panels.show(share);
        break;
      case 'Stop Sharing':
      case 'Dismiss':
        await this.manager.stop(share);
        break;
      case 'Retry':
        await this.start(() => this.manager.retry(share), share.target.label);
        break;
      case 'Show Log':
        this.log.show();
        break;
    }
  }
}
