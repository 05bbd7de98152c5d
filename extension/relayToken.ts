/** The relay's agent token: kept in VS Code's secret storage, one per relay origin, never in settings. */
import * as vscode from 'vscode';
import { relayEndpoint } from './agent/relayConnection.js';

/** Where the token of `relayUrl` is kept: by the relay's origin, so http://, ws:// and a trailing path name one relay. */
export function tokenKey(relayUrl: string): string {
  try {
    return `porthole.relayToken:${relayEndpoint(relayUrl).origin}`;
  } catch {
    return `porthole.relayToken:${relayUrl.trim()}`;
  }
}

/**
 * Stores `given`, or the token the user types, for the configured relay (an empty one removes it);
 * false when there is no relay configured or the user cancelled.
 */
export async function storeRelayToken(secrets: vscode.SecretStorage, log: vscode.LogOutputChannel, given?: string): Promise<boolean> {
  const relay = vscode.workspace.getConfiguration('porthole').get<string>('relayUrl', '').trim();
  if (!relay) {
    const action = await vscode.window.showWarningMessage(
      'Porthole: the embedded relay needs no token. Set “porthole.relayUrl” to your relay first, then set its token.',
      'Open Settings',
    );
    if (action) void vscode.commands.executeCommand('workbench.action.openSettings', 'porthole.relayUrl');
    return false;
  }
  const token =
    given ??
    (await vscode.window.showInputBox({
      title: 'Porthole: Set Relay Token',
      prompt: `Token for ${relay}. Kept in VS Code's secret storage, never in settings. Leave empty to remove it.`,
      password: true,
      ignoreFocusOut: true,
    }));
  if (token === undefined) return false;
  const key = tokenKey(relay);
  if (token.trim()) await secrets.store(key, token.trim());
  else await secrets.delete(key);
  log.info(`Relay token for ${relay} ${token.trim() ? 'stored' : 'removed'}.`);
  if (!given) void vscode.window.showInformationMessage(`Porthole: token for ${relay} ${token.trim() ? 'saved' : 'removed'}.`);
  return true;
}
