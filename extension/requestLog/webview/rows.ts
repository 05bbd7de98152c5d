/**
 * The list of requests, newest first (as in ngrok's inspector: new requests appear at the top
 * without scrolling), as an ARIA grid with one tab stop: the selected row, or else the newest.
 */
import type { LogRow } from '../format.js';
import { el, marked } from './dom.js';

export class RowList {
  private readonly bySeq = new Map<number, HTMLElement>();
  selected: number | undefined;
  /** The search text, lower case: its matches are marked in method, path and status. */
  needle = '';

  constructor(
    private readonly list: HTMLElement,
    /** Called when the user (not a message) selects a row. */
    private readonly onSelect: (seq: number) => void,
  ) {
    list.addEventListener('click', (event) => {
      const row = (event.target as HTMLElement).closest<HTMLElement>('.row');
      if (row?.dataset.seq) this.select(Number(row.dataset.seq), true);
    });
  }

  get count(): number {
    return this.list.childElementCount;
  }

  has(seq: number): boolean {
    return this.bySeq.has(seq);
  }

  replace(rows: LogRow[]): void {
    this.list.replaceChildren();
    this.bySeq.clear();
    this.add(rows);
    if (this.selected !== undefined && this.bySeq.has(this.selected)) this.select(this.selected, false, false);
  }

  // Rows are CSS-grid divs rather than table rows: prepending to a 1,000-row table re-lays out
  // the whole table (~15 ms a batch), while grid rows with content-visibility cost ~3 ms.
  add(rows: LogRow[]): void {
    const fragment = document.createDocumentFragment();
    for (let i = rows.length - 1; i >= 0; i--) {
      const div = this.rowElement(rows[i]);
      this.bySeq.set(rows[i].seq, div);
      fragment.appendChild(div);
    }
    this.list.insertBefore(fragment, this.list.firstChild);
    if (this.selected === undefined || !this.bySeq.has(this.selected)) {
      for (const row of this.list.querySelectorAll<HTMLElement>('.row[tabindex="0"]')) row.tabIndex = -1;
      if (this.list.firstElementChild) (this.list.firstElementChild as HTMLElement).tabIndex = 0;
    }
  }

  dropBefore(oldestSeq: number): void {
    let last = this.list.lastElementChild as HTMLElement | null;
    while (last && Number(last.dataset.seq) < oldestSeq) {
      this.bySeq.delete(Number(last.dataset.seq));
      last.remove();
      last = this.list.lastElementChild as HTMLElement | null;
    }
  }

  select(seq: number, focus: boolean, notify = true): void {
    const row = this.bySeq.get(seq);
    if (!row) return;
    for (const other of this.list.querySelectorAll<HTMLElement>('.row[aria-selected="true"]')) {
      other.setAttribute('aria-selected', 'false');
      other.tabIndex = -1;
    }
    row.setAttribute('aria-selected', 'true');
    row.tabIndex = 0;
    if (focus) row.focus();
    row.scrollIntoView({ block: 'nearest' });
    if (this.selected !== seq && notify) this.onSelect(seq);
    this.selected = seq;
  }

  /** Arrow keys, Page Up/Down, Home and End move the selection; returns false for other keys. */
  move(key: string): boolean {
    const current = (document.activeElement as HTMLElement | null)?.closest('.row') ?? null;
    const step = (from: Element | null, n: number, forward: boolean) => {
      let at = from;
      for (let i = 0; i < n && at; i++) {
        const next = forward ? at.nextElementSibling : at.previousElementSibling;
        if (!next) break;
        at = next;
      }
      return at;
    };
    const first = this.list.firstElementChild;
    const targets: Record<string, () => Element | null> = {
      ArrowDown: () => (current ? step(current, 1, true) : first),
      ArrowUp: () => (current ? step(current, 1, false) : first),
      PageDown: () => step(current ?? first, 10, true),
      PageUp: () => step(current ?? first, 10, false),
      Home: () => first,
      End: () => this.list.lastElementChild,
    };
    const target = targets[key]?.() as HTMLElement | null | undefined;
    if (!targets[key]) return false;
    if (target?.dataset.seq) this.select(Number(target.dataset.seq), true);
    return true;
  }

  private rowElement(row: LogRow): HTMLElement {
    const div = el('div', undefined, `row ${row.statusClass}`);
    div.setAttribute('role', 'row');
    div.dataset.seq = String(row.seq);
    div.tabIndex = -1;
    div.setAttribute('aria-selected', 'false');
    if (row.note) div.title = row.note;
    const method = row.replay ? `↻ ${row.method}` : row.method;
    for (const [text, cls, search] of [
      [row.time, 'time', false],
      [method, 'method', true],
      [row.path, 'path', true],
      [row.status, 'status', true],
      [row.duration, 'num', false],
      [row.size, 'num', false],
    ] as const) {
      const cell = search ? marked('span', text, this.needle, cls) : el('span', text, cls);
      cell.setAttribute('role', 'gridcell');
      div.appendChild(cell);
    }
    return div;
  }
}
