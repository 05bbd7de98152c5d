/** Compare: a replay beside its original — facts, header changes and body diffs — as text only. */
import type { BodyDiff, Comparison, HeaderChange } from '../compare.js';
import { byId, el } from './dom.js';

export function showComparison(comparison: Comparison | null): void {
  const target = byId('comparison');
  target.replaceChildren();
  target.hidden = comparison === null;
  if (!comparison) return;
  const head = el('div', undefined, 'detail-head');
  const close = el('button', 'Close', 'secondary');
  close.type = 'button';
  close.addEventListener('click', () => {
    target.hidden = true;
    byId('compare').focus();
  });
  head.append(el('h3', `Replay #${comparison.replaySeq} compared with the original, #${comparison.originalSeq}`), close);
  target.appendChild(head);

  const facts = el('table', undefined, 'compare');
  facts.setAttribute('aria-label', 'Request line, status and size');
  facts.appendChild(row('th', ['', 'Original', 'Replay']));
  for (const fact of comparison.facts)
    facts.appendChild(row('td', [fact.label, fact.original, fact.replay], fact.same ? 'same' : 'changed'));
  target.appendChild(facts);

  headerSection(target, 'Request headers', comparison.requestHeaders);
  bodySection(target, 'Request body', comparison.requestBody);
  headerSection(target, 'Response headers', comparison.responseHeaders);
  bodySection(target, 'Response body', comparison.responseBody);
  target.focus();
}

function row(cell: 'th' | 'td', texts: string[], className?: string): HTMLTableRowElement {
  const tr = el('tr', undefined, className);
  const [first, ...rest] = texts;
  tr.append(el('th', first), ...rest.map((text, i) => el(cell, text, i === 0 ? 'was' : 'now')));
  return tr;
}

function headerSection(target: HTMLElement, title: string, changes: HeaderChange[]): void {
  const differing = changes.filter((c) => c.change !== 'same');
  const same = changes.length - differing.length;
  target.appendChild(
    el(
      'h4',
      `${title}: ${differing.length ? `${differing.length} differ` : 'the same'}${same && differing.length ? `, ${same} the same` : ''}`,
    ),
  );
  if (!differing.length) return;
  const table = el('table', undefined, 'compare');
  table.setAttribute('aria-label', `${title} that differ`);
  table.appendChild(row('th', ['Header', 'Original', 'Replay']));
  for (const change of differing) {
    table.appendChild(row('td', [`${change.name} (${change.change})`, change.original ?? '—', change.replay ?? '—'], change.change));
  }
  target.appendChild(table);
}

function bodySection(target: HTMLElement, title: string, diff: BodyDiff): void {
  target.appendChild(el('h4', `${title}: ${diff.note}`));
  if (!diff.lines.length) return;
  const pre = el('pre', undefined, 'diff');
  pre.setAttribute('aria-label', `${title} differences`);
  const classes = { ' ': 'same', '-': 'del', '+': 'add', '…': 'gap' } as const;
  for (const [op, text] of diff.lines) pre.appendChild(el('span', `${op === '…' ? '⋯' : op} ${text}`, classes[op]));
  target.appendChild(pre);
}
