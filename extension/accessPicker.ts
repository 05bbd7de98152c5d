/**
 * "Who can open it?": the Share Port flow's second step. A quick pick of the presets (the one last
 * used for this port first in line), then what the preset needs (a password, the allowed ranges),
 * then the open paths, optional, for a protected share.
 */
import * as vscode from 'vscode';
import { parseCidr } from '../core/cidr.js';
import { parsePathGlob } from '../core/pathGlob.js';
import type { AccessChoice } from './agent/accessChoice.js';
import { PRESETS, splitList, type AccessPreset, type RememberedAccess } from './accessPresets.js';

export interface PickedAccess {
  basicAuth?: string;
  access?: AccessChoice;
  /** What to remember for this port. */
  remember: RememberedAccess;
}

interface PresetItem extends vscode.QuickPickItem {
  preset: AccessPreset;
}

/**
 * Asks who can open the share of `label`; undefined when the user cancels. `preset` skips the
 * question (the lock button of the port list chose the password already).
 */
export async function pickAccess(label: string, remembered?: RememberedAccess, preset?: AccessPreset): Promise<PickedAccess | undefined> {
  const chosen = preset ?? (await pickPreset(label, remembered?.preset));
  if (!chosen) return undefined;
  const remember: RememberedAccess = { preset: chosen };
  const picked: PickedAccess = { remember };
  if (chosen === 'public') return picked;
  if (chosen === 'password') {
    const credentials = await askCredentials(remembered?.user);
    if (!credentials) return undefined;
    picked.basicAuth = credentials;
    remember.user = credentials.slice(0, credentials.indexOf(':'));
  }
  const access: AccessChoice = {};
  if (chosen === 'private') access.privateLink = true;
  if (chosen === 'allowIps') {
    const ranges = await askList({
      title: `Porthole: Share ${label} — IP allow-list`,
      prompt: 'Addresses or ranges that may open it, separated by spaces or commas, e.g. 203.0.113.0/24 2001:db8::/32',
      value: remembered?.allowIps,
      required: true,
      check: (entry) => {
        const range = parseCidr(entry);
        return 'error' in range ? range.error : undefined;
      },
    });
    if (!ranges) return undefined;
    access.allowIps = remember.allowIps = ranges;
  }
  const openPaths = await askList({
    title: `Porthole: Share ${label} — open paths (optional)`,
    prompt: 'Paths anyone may reach past the protection, e.g. /webhooks/* for a webhook provider. Leave empty for none.',
    value: remembered?.openPaths,
    required: false,
    check: (entry) => {
      const glob = parsePathGlob(entry);
      return 'error' in glob ? glob.error : undefined;
    },
  });
  if (!openPaths) return undefined;
  if (openPaths.length) access.openPaths = remember.openPaths = openPaths;
  if (Object.keys(access).length) picked.access = access;
  return picked;
}

function pickPreset(label: string, last: AccessPreset | undefined): Promise<AccessPreset | undefined> {
  const pick = vscode.window.createQuickPick<PresetItem>();
  pick.title = `Porthole: Share ${label}`;
  pick.placeholder = 'Who can open it?';
  pick.items = (Object.keys(PRESETS) as AccessPreset[]).map((preset) => ({
    preset,
    label: `$(${PRESETS[preset].icon}) ${PRESETS[preset].label}`,
    description: preset === last ? 'last used for this port' : undefined,
    detail: PRESETS[preset].detail,
  }));
  const lastItem = pick.items.find((item) => item.preset === last);
  if (lastItem) pick.activeItems = [lastItem];
  return new Promise((resolve) => {
    pick.onDidAccept(() => {
      resolve((pick.selectedItems[0] ?? pick.activeItems[0])?.preset);
      pick.hide();
    });
    pick.onDidHide(() => {
      resolve(undefined);
      pick.dispose();
    });
    pick.show();
  });
}

/** A list typed into an input box, each entry checked; undefined when cancelled. */
async function askList(options: {
  title: string;
  prompt: string;
  value?: string[];
  required: boolean;
  check(entry: string): string | undefined;
}): Promise<string[] | undefined> {
  const text = await vscode.window.showInputBox({
    title: options.title,
    prompt: options.prompt,
    value: options.value?.join(' ') ?? '',
    ignoreFocusOut: true,
    validateInput: (value) => {
      const entries = splitList(value);
      if (options.required && entries.length === 0) return 'Give at least one.';
      for (const entry of entries) {
        const problem = options.check(entry);
        if (problem) return problem;
      }
      return undefined;
    },
  });
  return text === undefined ? undefined : splitList(text);
}

/** User name and password for the password preset, as `user:password`. */
export async function askCredentials(user = 'porthole'): Promise<string | undefined> {
  const name = await vscode.window.showInputBox({
    title: 'Porthole: Share with a password (1/2)',
    prompt: 'User name visitors of the public URL sign in with',
    value: user,
    ignoreFocusOut: true,
    validateInput: (value) => (!value || value.includes(':') ? 'A user name is needed, without “:”.' : undefined),
  });
  if (!name) return undefined;
  const password = await vscode.window.showInputBox({
    title: 'Porthole: Share with a password (2/2)',
    prompt: `Password for ${name}`,
    password: true,
    ignoreFocusOut: true,
    validateInput: (value) => (value.length < 4 ? 'Use at least 4 characters.' : undefined),
  });
  return password ? `${name}:${password}` : undefined;
}
