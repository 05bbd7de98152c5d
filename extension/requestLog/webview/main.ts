/**
 * The request-log page's script. It runs inside the webview, not in the extension host: esbuild
 * bundles it for the browser as dist/webview/requestLog.js, which the panel loads with
 * `asWebviewUri` under the page's CSP nonce.
 *
 * Request data is only ever put into the page as text (dom.ts): never as markup.
 */
import type { LogFilter } from '../filter.js';
import type { FromPage, ToPage } from '../messages.js';
import { showComparison } from './comparison.js';
import { DetailView } from './detail.js';
import { byId } from './dom.js';
import { Editor } from './editor.js';
import { RowList } from './rows.js';

declare function acquireVsCodeApi(): { postMessage(message: FromPage): void };

function requestLogClient(): void {
  const vscode = acquireVsCodeApi();
  const send = (message: FromPage) => vscode.postMessage(message);
  const search = byId<HTMLInputElement>('filter');
  const selects = {
    status: byId<HTMLSelectElement>('status-filter'),
    method: byId<HTMLSelectElement>('method-filter'),
    type: byId<HTMLSelectElement>('type-filter'),
  };
  const empty = byId('empty');
  const notice = byId('notice');
  const buttons = {
    replay: byId<HTMLButtonElement>('replay'),
    edit: byId<HTMLButtonElement>('edit'),
    compare: byId<HTMLButtonElement>('compare'),
  };
  const rows = new RowList(byId('rows'), (seq) => send({ type: 'select', seq }));
  const detail = new DetailView();
  const editor = new Editor((seq, edits) => send({ type: 'replay', seq, edits }));
  let canReplay = false;

  const refreshButtons = () => {
    const current = detail.current;
    buttons.replay.disabled = !canReplay || current?.replayProblem !== undefined;
    buttons.replay.title = current?.replayProblem ?? 'Send the same request to the local server again (R)';
    buttons.edit.disabled = !canReplay;
    buttons.compare.hidden = current?.originalSeq === undefined;
  };

  const act = (action: 'replay' | 'edit' | 'compare' | 'copyCurl') => {
    const current = detail.current;
    if (!current) return;
    if (action === 'replay' && !buttons.replay.disabled) send({ type: 'replay', seq: current.seq });
    else if (action === 'edit' && !buttons.edit.disabled) editor.open(current);
    else if (action === 'compare' && !buttons.compare.hidden) send({ type: 'compare', seq: current.seq });
    else if (action === 'copyCurl') send({ type: 'copyCurl', seq: current.seq });
  };

  window.addEventListener('message', (event: MessageEvent<ToPage>) => {
    const message = event.data;
    switch (message.type) {
      case 'reset':
        rows.needle = message.filter.text.trim().toLowerCase();
        rows.replace(message.rows);
        if (document.activeElement !== search) search.value = message.filter.text;
        selects.status.value = message.filter.status;
        selects.method.value = message.filter.method;
        selects.type.value = message.filter.type;
        canReplay = message.canReplay;
        byId('share-status').textContent = message.status;
        if (detail.current) detail.show(detail.current, rows.needle);
        break;
      case 'append':
        rows.add(message.rows);
        rows.dropBefore(message.oldestSeq);
        break;
      case 'detail':
        if (message.detail?.seq !== detail.current?.seq) {
          editor.close();
          showComparison(null);
        }
        detail.show(message.detail, rows.needle);
        break;
      case 'select':
        rows.select(message.seq, true, false);
        break;
      case 'status':
        byId('share-status').textContent = message.status;
        canReplay = message.canReplay;
        break;
      case 'notice':
        notice.textContent = message.text;
        notice.className = `notice ${message.tone}`;
        notice.setAttribute('role', message.tone === 'error' ? 'alert' : 'status');
        notice.hidden = !message.text;
        break;
      case 'comparison':
        showComparison(message.comparison);
        break;
    }
    refreshButtons();
    empty.hidden = rows.count > 0;
  });

  let filterTimer: ReturnType<typeof setTimeout> | undefined;
  const sendFilter = () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      const filter = {
        text: search.value,
        status: selects.status.value,
        method: selects.method.value,
        type: selects.type.value,
      } as LogFilter;
      send({ type: 'filter', filter });
    }, 150);
  };
  search.addEventListener('input', sendFilter);
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && search.value) {
      event.preventDefault();
      search.value = '';
      sendFilter();
    } else if (event.key === 'ArrowDown' || event.key === 'Enter') {
      event.preventDefault();
      rows.move('Home');
    }
  });
  for (const select of Object.values(selects)) select.addEventListener('change', sendFilter);
  byId('clear').addEventListener('click', () => {
    rows.selected = undefined;
    send({ type: 'clear' });
  });
  byId('export-har').addEventListener('click', () => send({ type: 'exportHar' }));
  buttons.replay.addEventListener('click', () => act('replay'));
  buttons.edit.addEventListener('click', () => act('edit'));
  buttons.compare.addEventListener('click', () => act('compare'));
  byId('copy-curl').addEventListener('click', () => act('copyCurl'));

  byId('rows').addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const shortcuts: Record<string, (() => void) | undefined> = {
      r: () => act('replay'),
      e: () => act('edit'),
      d: () => act('compare'),
      c: () => act('copyCurl'),
      Enter: () => byId('detail').querySelector<HTMLElement>('button:not([disabled]):not([hidden])')?.focus(),
    };
    const shortcut = shortcuts[event.key];
    if (shortcut || rows.move(event.key)) event.preventDefault();
    shortcut?.();
  });
  // "/" jumps to the search from anywhere but a text field.
  document.addEventListener('keydown', (event) => {
    const typing = (event.target as HTMLElement).closest('input, textarea, select');
    if (event.key === '/' && !typing) {
      event.preventDefault();
      search.focus();
      search.select();
    }
  });

  send({ type: 'ready' });
}

requestLogClient();
