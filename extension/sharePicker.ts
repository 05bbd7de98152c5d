/**
 * The "Share Port" quick pick, its first step: detected ports (port, process, page title), or
 * whatever the user types (a port, host:port or URL). "Who can open it?" follows (accessPicker.ts);
 * a row's lock button goes straight to the password.
 */
import * as vscode from 'vscode';
import { labelHttp } from './ports/httpProbe.js';
import type { ListeningPort } from './ports/portRanking.js';
import { scanPorts } from './ports/ports.js';
import { parseTarget, TARGET_HINT, type Target } from './agent/target.js';

export interface PickedTarget {
  target: Target;
  /** Picked with the row's lock button. */
  withPassword: boolean;
}

interface TargetItem extends vscode.QuickPickItem {
  target?: Target;
}

/** HTTP probes run side by side; more than this many ports are listed without a page title. */
const MAX_PROBES = 30;
const PASSWORD_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('lock'), tooltip: 'Share with a password' };

export async function pickTarget(options: { detect: boolean; sharedUrls: Map<string, string> }): Promise<PickedTarget | undefined> {
  const pick = vscode.window.createQuickPick<TargetItem>();
  pick.title = 'Porthole: Share Port';
  pick.placeholder = options.detect ? 'Pick a listening port, or type a port, host:port or URL' : TARGET_HINT;
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  let detected: TargetItem[] = [];
  let closed = false;

  const render = () => {
    if (closed) return;
    const typed = typedItem(pick.value);
    const separator = (label: string): TargetItem => ({ label, kind: vscode.QuickPickItemKind.Separator });
    pick.items = [...(typed ? [typed] : []), ...(detected.length ? [separator('Listening ports'), ...detected] : [])];
  };

  const result = new Promise<PickedTarget | undefined>((resolve) => {
    pick.onDidChangeValue(render);
    pick.onDidAccept(() => {
      const item = pick.selectedItems[0] ?? pick.activeItems[0];
      if (item?.target) {
        resolve({ target: item.target, withPassword: false });
        pick.hide();
      }
    });
    pick.onDidTriggerItemButton(({ item }) => {
      if (item.target) {
        resolve({ target: item.target, withPassword: true });
        pick.hide();
      }
    });
    pick.onDidHide(() => {
      closed = true;
      resolve(undefined);
      pick.dispose();
    });
  });

  render();
  pick.show();
  if (options.detect) {
    pick.busy = true;
    void detect(options.sharedUrls, (items) => {
      // New items reset the active row to the first: keep the one the user moved to.
      const active = pick.activeItems[0]?.target?.key;
      detected = items;
      render();
      const again = active && pick.items.find((item) => item.target?.key === active);
      if (again) pick.activeItems = [again];
    }).finally(() => {
      if (!closed) pick.busy = false;
    });
  }
  return result;
}

/** Lists ports at once, then again with HTTP status and page titles once the probes answer. */
async function detect(sharedUrls: Map<string, string>, update: (items: TargetItem[]) => void): Promise<void> {
  const scan = await scanPorts();
  // The list may be incomplete (no lsof, no /proc access): say so where the user looks for a port.
  const problems: TargetItem[] = scan.problems.map((problem) => ({
    label: '$(warning) Port list incomplete',
    detail: problem,
    alwaysShow: true,
  }));
  update([...scan.ports.map((p) => portItem(p, sharedUrls)), ...problems]);
  const labelled = await labelHttp(scan.ports.slice(0, MAX_PROBES));
  update([...[...labelled, ...scan.ports.slice(MAX_PROBES)].map((p) => portItem(p, sharedUrls)), ...problems]);
}

function portItem(port: ListeningPort, sharedUrls: Map<string, string>): TargetItem {
  const host = port.host.includes(':') ? `[${port.host}]` : port.host;
  const target = parseTarget(`http://${host}:${port.port}`) as Target;
  const program = port.processName ?? 'unknown process';
  const shared = sharedUrls.get(target.key);
  const facts = [
    port.http ? `HTTP ${port.http.status}${port.http.title ? ` · “${port.http.title}”` : ''}` : '',
    port.commandLine ?? '',
  ].filter(Boolean);
  return {
    label: String(port.port),
    description: shared ? `${program} · shared at ${shared}` : program,
    detail: facts.join(' · ') || undefined,
    target,
    buttons: [PASSWORD_BUTTON],
  };
}

function typedItem(value: string): TargetItem | undefined {
  if (!value.trim()) return undefined;
  const parsed = parseTarget(value);
  if ('error' in parsed) return { label: value.trim(), description: parsed.error, alwaysShow: true };
  return { label: value.trim(), description: `Share ${parsed.url}`, target: parsed, alwaysShow: true, buttons: [PASSWORD_BUTTON] };
}
