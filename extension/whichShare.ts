/** Which share a command is about: the one its argument names, the only one, or the one(s) the user picks. */
import * as vscode from 'vscode';
import { parseTarget } from './agent/target.js';
import { COMMANDS } from './commandIds.js';
import type { ShareManager } from './sharing.js';
import { Share } from './share.js';

/** A share from a command argument: the share itself (a Porthole view row), its id, URL, port or local URL. */
export function findShare(manager: ShareManager, arg: unknown): Share | undefined {
  if (arg === undefined || arg === null) return undefined;
  if (arg instanceof Share) return manager.shares.includes(arg) ? arg : undefined;
  const text = String(arg);
  const target = parseTarget(text);
  return manager.find(text) ?? ('error' in target ? undefined : manager.find(target.key));
}

/** The share `arg` names, or, without one, the only share or the one the user picks to `verb`. */
export async function oneShare(manager: ShareManager, arg: unknown, verb: string): Promise<Share | undefined> {
  if (arg !== undefined) return findShare(manager, arg);
  return (await pickShares(manager, verb, false))?.[0];
}

/** The only share, or the one(s) the user picks; tells the user when nothing is shared. */
export async function pickShares(manager: ShareManager, verb: string, allowAll: boolean): Promise<Share[] | undefined> {
  const shares = manager.shares;
  if (shares.length === 0) {
    const action = await vscode.window.showInformationMessage('Porthole: nothing is shared yet.', 'Share Port');
    if (action) void vscode.commands.executeCommand(COMMANDS.share);
    return undefined;
  }
  if (shares.length === 1) return [shares[0]];
  const items = shares.map((share) => ({ label: share.target.label, description: share.url ?? share.state.status, share }));
  const all = { label: '$(close-all) All shares', description: `${shares.length} shares`, share: undefined };
  const picked = await vscode.window.showQuickPick(allowAll ? [...items, all] : items, { title: `Porthole: ${verb}…` });
  if (!picked) return undefined;
  return picked.share ? [picked.share] : [...shares];
}
