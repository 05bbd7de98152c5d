/**
 * Who can open a share, as the Share Port flow offers it: four presets (public, password, private
 * link, IP allow-list) and optional open paths. No vscode imports: the picker, the status bar, the
 * share manager and other views all read presets from here.
 */
import type { AccessChoice } from './agent/accessChoice.js';

export type AccessPreset = 'public' | 'password' | 'private' | 'allowIps';

/** What is remembered per port: the preset and its lists, never a password. */
export interface RememberedAccess {
  preset: AccessPreset;
  /** The user name last used with the password preset. */
  user?: string;
  allowIps?: string[];
  openPaths?: string[];
}

export interface PresetInfo {
  label: string;
  /** Codicon name, for the picker and the status bar. */
  icon: string;
  detail: string;
}

export const PRESETS: Record<AccessPreset, PresetInfo> = {
  public: { label: 'Public', icon: 'radio-tower', detail: 'Anyone with the URL' },
  password: { label: 'Password', icon: 'lock', detail: 'Visitors sign in with a user name and password you choose (HTTP Basic)' },
  private: {
    label: 'Private link',
    icon: 'key',
    detail: 'Only people you give the link to: it carries a key, and the relay admits their browser from then on',
  },
  allowIps: { label: 'IP allow-list', icon: 'shield', detail: 'Only visitors from the addresses or ranges you list' },
};

/** A share's access as the UI shows it: its preset and the rules besides. */
export interface ShareAccess {
  preset: AccessPreset;
  /** The open paths: reached by anyone, past the preset. */
  openPaths: readonly string[];
  /** "Private link", "Password · 2 open paths". */
  label: string;
}

/** The preset of a share's request; the strictest wins when an API caller combined several. */
function presetOf(basicAuth: string | undefined, access: AccessChoice | undefined): AccessPreset {
  if (access?.privateLink) return 'private';
  if (access?.allowIps?.length) return 'allowIps';
  if (basicAuth) return 'password';
  return 'public';
}

export function describeAccess(basicAuth: string | undefined, access: AccessChoice | undefined): ShareAccess {
  const preset = presetOf(basicAuth, access);
  const openPaths = preset === 'public' ? [] : (access?.openPaths ?? []);
  const extras = [
    ...(preset !== 'password' && basicAuth ? ['password'] : []),
    ...(preset !== 'allowIps' && access?.allowIps?.length ? ['IP allow-list'] : []),
    ...(openPaths.length ? [`${openPaths.length} open path${openPaths.length === 1 ? '' : 's'}`] : []),
  ];
  return { preset, openPaths, label: [PRESETS[preset].label, ...extras].join(' · ') };
}

/** A list typed into an input box: entries separated by commas or whitespace. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter(Boolean);
}
