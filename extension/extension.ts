/**
 * Porthole for VS Code: activation wires the share manager (agents, embedded relay) to the status
 * bar, the request-log panels, the commands and the port watcher. Activation is cheap (commands and
 * onStartupFinished): nothing listens until the user shares, and the only background work is the
 * port watcher's light poll, while `porthole.autoDetect` and `porthole.notifyOnNewPort` are on.
 */
import * as vscode from 'vscode';
import { DEFAULT_HTTP_PORT } from '../relay/config.js';
import { DEFAULT_CAPTURE_BYTES, MAX_CAPTURE_BYTES } from './agent/requestRecord.js';
import { COMMANDS } from './commandIds.js';
import { Commands } from './commands.js';
import { tokenKey } from './relayToken.js';
import { PortWatcher } from './ports/portWatcher.js';
import type { ListeningPort } from './ports/portRanking.js';
import { DEFAULT_MAX_ENTRIES } from './requestLog/requestLog.js';
import { RequestLogPanels } from './requestLog/view.js';
import { QrCodePanels } from './panel/qrCode.js';
import { PortholeTree } from './panel/tree.js';
import { ShareManager, type ShareSettings } from './sharing.js';
import { StatusBar } from './statusBar.js';

/** What activate() returns: the live objects, for other extensions and the extension-host tests. */
export interface PortholeApi {
  manager: ShareManager;
  statusBar: StatusBar;
  panels: RequestLogPanels;
  qrCodes: QrCodePanels;
  view: PortholeTree;
  commands: Commands;
}

let manager: ShareManager | undefined;

export function activate(context: vscode.ExtensionContext): PortholeApi {
  const log = vscode.window.createOutputChannel('Porthole', { log: true });
  manager = new ShareManager({
    settings: readSettings,
    token: async (relay) => context.secrets.get(tokenKey(relay)),
    log,
  });
  const statusBar = new StatusBar(manager);
  const panels = new RequestLogPanels(log, context.extensionUri);
  const qrCodes = new QrCodePanels(manager);
  const view = new PortholeTree(manager, log);
  const commands = new Commands(context, manager, panels, qrCodes, log);
  const watcher = new DevServerNotifier(log);
  const shares = manager;
  context.subscriptions.push(
    log,
    statusBar,
    panels,
    qrCodes,
    view,
    watcher,
    ...commands.register(),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('porthole.requestLog')) shares.configureLogs(readSettings());
      if (event.affectsConfiguration('porthole.autoDetect') || event.affectsConfiguration('porthole.notifyOnNewPort')) watcher.configure();
    }),
  );
  // Commands that need a share appear in the palette only while something is shared.
  const updateContext = () => void vscode.commands.executeCommand('setContext', 'porthole.sharing', shares.shares.length > 0);
  shares.on('added', updateContext);
  shares.on('removed', updateContext);
  watcher.configure();
  log.info(`Porthole ${context.extension.packageJSON.version as string} active (extension host ${process.version}, ${process.platform}).`);
  return { manager, statusBar, panels, qrCodes, view, commands };
}

/** Stops every share, so the relay frees their names at once rather than after the grace period. */
export async function deactivate(): Promise<void> {
  await manager?.stopAll();
  manager = undefined;
}

function readSettings(): ShareSettings {
  const config = vscode.workspace.getConfiguration('porthole');
  const maxEntries = config.get<number>('requestLog.maxEntries', DEFAULT_MAX_ENTRIES);
  const port = config.get<number>('embeddedRelayPort', DEFAULT_HTTP_PORT);
  const capture = config.get<number>('requestLog.captureBytes', DEFAULT_CAPTURE_BYTES);
  return {
    relayUrl: config.get<string>('relayUrl', '').trim(),
    subdomain: config.get<string>('subdomain', '').trim(),
    hostHeader: config.get<string>('hostHeader') === 'preserve' ? 'preserve' : 'rewrite',
    maxEntries: Number.isInteger(maxEntries) && maxEntries >= 10 ? maxEntries : DEFAULT_MAX_ENTRIES,
    captureBytes: Number.isInteger(capture) && capture >= 0 && capture <= MAX_CAPTURE_BYTES ? capture : DEFAULT_CAPTURE_BYTES,
    localRelayPort: Number.isInteger(port) && port >= 0 && port <= 65535 ? port : DEFAULT_HTTP_PORT,
    compress: config.get<boolean>('compress', true) !== false,
  };
}

/**
 * Offers "Share port 5173?" once when a likely dev server starts listening, while the
 * `porthole.autoDetect` and `porthole.notifyOnNewPort` settings allow it.
 */
class DevServerNotifier implements vscode.Disposable {
  private watcher?: PortWatcher;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  configure(): void {
    const config = vscode.workspace.getConfiguration('porthole');
    const wanted = config.get<boolean>('autoDetect', true) && config.get<boolean>('notifyOnNewPort', true);
    if (wanted && !this.watcher) this.start();
    if (!wanted) this.dispose();
  }

  dispose(): void {
    this.watcher?.dispose();
    this.watcher = undefined;
  }

  private start(): void {
    const watcher = new PortWatcher();
    this.watcher = watcher;
    watcher.on('likelyDevServer', (port) => void this.offer(port));
    watcher.on('problem', (message) => this.log.warn(`Port detection: ${message}`));
  }

  private async offer(port: ListeningPort): Promise<void> {
    const target = `http://${port.host.includes(':') ? `[${port.host}]` : port.host}:${port.port}`;
    if (manager?.find(`http://localhost:${port.port}`)) return;
    const what = port.processName ? ` (${port.processName})` : '';
    this.log.info(`Port ${port.port}${what} started listening; offering to share it.`);
    const action = await vscode.window.showInformationMessage(
      `Porthole: port ${port.port}${what} is listening. Share it?`,
      'Share',
      'Share with a Password',
      'Don’t Ask Again',
    );
    if (action === 'Share') await vscode.commands.executeCommand(COMMANDS.share, target);
    if (action === 'Share with a Password') await vscode.commands.executeCommand(COMMANDS.share, { target, askPassword: true });
    if (action === 'Don’t Ask Again')
      await vscode.workspace.getConfiguration('porthole').update('notifyOnNewPort', false, vscode.ConfigurationTarget.Global);
  }
}
