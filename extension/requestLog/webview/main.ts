/**
 * The request-log page's script. It runs inside the webview, not in the extension host: esbuild
 * bundles it for the browser as dist/webview/requestLog.js, which the panel loads with
 * `asWebviewUri` under the page's CSP nonce.
 *
 * Request data is only ever put into the page with textContent: never innerHTML.
 */
import type { BodyPreview, HeaderView, LogDetail, LogRow, StatusFilter } from '../format.js';
import type { FromPage, ToPage } from '../messages.js';

declare function acquireVsCodeApi(): { postMessage(message: FromPage): void };

function requestLogClient(): void {
  const vscode = acquireVsCodeApi();
  const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const list = byId('rows');
  const filterInput = byId<HTMLInputElement>('filter');
  const statusSelect = byId<HTMLSelectElement>('status-filter');
  const empty = byId('empty');
  const detailPane = byId('detail');
  const replayButton = byId<HTMLButtonElement>('replay');
  const notice = byId('notice');
  const rowsBySeq = new Map<number, HTMLElement>();
  let selected: number | undefined;
  let canReplay = false;

  const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string) => {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  };

  // Rows are CSS-grid divs rather than table rows: prepending to a 1,000-row table re-lays out
  // the whole table (~15 ms a batch), while grid rows with content-visibility cost ~3 ms.
  function rowElement(row: LogRow): HTMLElement {
    const div = el('div', undefined, `row ${row.statusClass}`);
    div.setAttribute('role', 'row');
    div.dataset.seq = String(row.seq);
    div.tabIndex = -1;
    div.setAttribute('aria-selected', 'false');
    if (row.note) div.title = row.note;
    const method = row.replay ? `↻ ${row.method}` : row.method;
    for (const [text, cls] of [
      [row.time, 'time'],
      [method, 'method'],
      [row.path, 'path'],
      [row.status, 'status'],
      [row.duration, 'num'],
      [row.size, 'num'],
    ] as const) {
      const cell = el('span', text, cls);
      cell.setAttribute('role', 'gridcell');
      div.appendChild(cell);
    }
    return div;
  }

  // Newest first, as in ngrok's inspector: new requests appear at the top without scrolling.
  function addRows(rows: LogRow[]): void {
    const fragment = document.createDocumentFragment();
    for (let i = rows.length - 1; i >= 0; i--) {
      const div = rowElement(rows[i]);
      rowsBySeq.set(rows[i].seq, div);
      fragment.appendChild(div);
    }
    list.insertBefore(fragment, list.firstChild);
    // One tab stop in the table (roving tabindex): the selected row, or else the newest.
    if (selected === undefined || !rowsBySeq.has(selected)) {
      for (const row of list.querySelectorAll<HTMLElement>('.row[tabindex="0"]')) row.tabIndex = -1;
      if (list.firstElementChild) (list.firstElementChild as HTMLElement).tabIndex = 0;
    }
  }

  function dropBefore(oldestSeq: number): void {
    let last = list.lastElementChild as HTMLElement | null;
    while (last && Number(last.dataset.seq) < oldestSeq) {
      rowsBySeq.delete(Number(last.dataset.seq));
      last.remove();
      last = list.lastElementChild as HTMLElement | null;
    }
  }

  function refreshEmpty(): void {
    empty.hidden = list.childElementCount > 0;
  }

  function select(seq: number, focus: boolean, notify = true): void {
    const row = rowsBySeq.get(seq);
    if (!row) return;
    list.querySelectorAll<HTMLElement>('.row[aria-selected="true"]').forEach((other) => {
      other.setAttribute('aria-selected', 'false');
      other.tabIndex = -1;
    });
    row.setAttribute('aria-selected', 'true');
    row.tabIndex = 0;
    if (focus) row.focus();
    row.scrollIntoView({ block: 'nearest' });
    if (selected !== seq && notify) vscode.postMessage({ type: 'select', seq });
    selected = seq;
  }

  /** The visitor's value of each header, and beneath it the local server's where that differs. */
  function headersTable(target: HTMLElement, headers: HeaderView[]): void {
    target.replaceChildren();
    if (headers.length === 0) target.appendChild(el('p', 'none', 'muted'));
    const table = el('table', undefined, 'headers');
    for (const { name, visitor, local } of headers) {
      const tr = el('tr');
      const td = el('td', visitor ?? local ?? '');
      if (visitor !== local) {
        td.appendChild(
          el(
            'div',
            local === null
              ? 'not passed to the local server'
              : visitor === null
                ? 'only the local server saw it'
                : `local server: ${local}`,
            'muted',
          ),
        );
      }
      tr.append(el('th', name), td);
      table.appendChild(tr);
    }
    if (headers.length) target.appendChild(table);
  }

  function body(target: HTMLElement, preview: BodyPreview): void {
    target.replaceChildren();
    if (preview.kind === 'empty') target.appendChild(el('p', 'empty body', 'muted'));
    else if (preview.kind === 'binary') target.appendChild(el('p', preview.note, 'muted'));
    else target.append(el('p', preview.note, 'muted'), el('pre', preview.text, 'body'));
  }

  function showDetail(detail: LogDetail | null): void {
    detailPane.hidden = detail === null;
    if (!detail) return;
    byId('summary').textContent = detail.summary;
    const facts = byId('facts');
    facts.replaceChildren();
    for (const [name, value] of detail.facts) facts.append(el('dt', name), el('dd', value));
    headersTable(byId('request-headers'), detail.requestHeaders);
    headersTable(byId('response-headers'), detail.responseHeaders);
    body(byId('request-body'), detail.requestBody);
    body(byId('response-body'), detail.responseBody);
    replayButton.disabled = !canReplay;
  }

  function setStatus(status: string, replayable: boolean): void {
    byId('share-status').textContent = status;
    canReplay = replayable;
    replayButton.disabled = !replayable;
  }

  window.addEventListener('message', (event: MessageEvent<ToPage>) => {
    const message = event.data;
    switch (message.type) {
      case 'reset':
        list.replaceChildren();
        rowsBySeq.clear();
        addRows(message.rows);
        filterInput.value = message.filter.text;
        statusSelect.value = message.filter.status;
        setStatus(message.status, message.canReplay);
        if (selected !== undefined && rowsBySeq.has(selected)) select(selected, false, false);
        break;
      case 'append':
        addRows(message.rows);
        dropBefore(message.oldestSeq);
        break;
      case 'detail':
        showDetail(message.detail);
        break;
      case 'select':
        select(message.seq, true, false);
        break;
      case 'status':
        setStatus(message.status, message.canReplay);
        break;
      case 'notice':
        notice.textContent = message.text;
        notice.hidden = !message.text;
        break;
    }
    refreshEmpty();
  });

  let filterTimer: ReturnType<typeof setTimeout> | undefined;
  const sendFilter = () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(
      () =>
        vscode.postMessage({
          type: 'filter',
          filter: { text: filterInput.value, status: statusSelect.value as StatusFilter },
        }),
      150,
    );
  };
  filterInput.addEventListener('input', sendFilter);
  statusSelect.addEventListener('change', sendFilter);
  byId('clear').addEventListener('click', () => {
    selected = undefined;
    vscode.postMessage({ type: 'clear' });
  });
  replayButton.addEventListener('click', () => {
    if (selected !== undefined) vscode.postMessage({ type: 'replay', seq: selected });
  });

  list.addEventListener('click', (event) => {
    const row = (event.target as HTMLElement).closest<HTMLElement>('.row');
    if (row?.dataset.seq) select(Number(row.dataset.seq), true);
  });
  list.addEventListener('keydown', (event) => {
    const current = (document.activeElement as HTMLElement | null)?.closest('.row');
    const moves: Record<string, () => Element | null | undefined> = {
      ArrowDown: () => current?.nextElementSibling ?? list.firstElementChild,
      ArrowUp: () => current?.previousElementSibling ?? list.firstElementChild,
      Home: () => list.firstElementChild,
      End: () => list.lastElementChild,
      Enter: () => current,
      ' ': () => current,
    };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const next = move() as HTMLElement | null | undefined;
    if (next?.dataset.seq) select(Number(next.dataset.seq), true);
  });

  vscode.postMessage({ type: 'ready' });
}

requestLogClient();
