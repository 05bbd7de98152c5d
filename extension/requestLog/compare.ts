/**
 * Compare: a replayed request beside the one it replays — request line, status, headers of both
 * sides, and both bodies as line diffs. Bodies are diffed with jsdiff's Myers diff (O(N·D): fast
 * when the bodies are alike, which replays usually are), bounded in edits and time so a pair of
 * unrelated 10 MiB bodies costs a sentence, not a frozen extension host.
 */
import { diffLines } from 'diff';
import { formatBytes } from '../../core/text.js';
import type { RequestRecord } from '../agent/requestRecord.js';
import { bodyView } from './body.js';

export type Change = 'same' | 'changed' | 'added' | 'removed';

export interface HeaderChange {
  name: string;
  change: Change;
  original?: string;
  replay?: string;
}

/** `' '` unchanged, `-` only in the original, `+` only in the replay, `…` unchanged lines left out. */
export type DiffLine = [op: ' ' | '-' | '+' | '…', text: string];

export interface BodyDiff {
  same: boolean;
  /** For a person: "identical, 1.2 KiB", "3 lines changed", "binary bodies of 10 and 12 KiB differ". */
  note: string;
  lines: DiffLine[];
}

export interface Comparison {
  originalSeq: number;
  replaySeq: number;
  facts: { label: string; original: string; replay: string; same: boolean }[];
  requestHeaders: HeaderChange[];
  responseHeaders: HeaderChange[];
  requestBody: BodyDiff;
  responseBody: BodyDiff;
}

/** Unchanged lines kept around each change. */
const CONTEXT = 3;
/** Beyond this many edits the bodies are called too different to diff. */
const MAX_EDITS = 5_000;
const DIFF_TIMEOUT_MS = 1_000;

export function compare(originalSeq: number, original: RequestRecord, replaySeq: number, replay: RequestRecord): Comparison {
  const outcome = (r: RequestRecord) => r.error ?? (r.status === undefined ? 'no response' : String(r.status));
  const fact = (label: string, a: string, b: string) => ({ label, original: a, replay: b, same: a === b });
  return {
    originalSeq,
    replaySeq,
    facts: [
      fact('Request', `${original.method} ${original.path}`, `${replay.method} ${replay.path}`),
      fact('Status', outcome(original), outcome(replay)),
      fact('Response size', formatBytes(original.responseBytes), formatBytes(replay.responseBytes)),
    ],
    // As the local server saw both: a replay goes to it directly, with nothing mapped for a visitor.
    requestHeaders: compareHeaders(original.localRequestHeaders, replay.localRequestHeaders),
    responseHeaders: compareHeaders(original.responseHeaders, replay.responseHeaders),
    requestBody: compareBodies(original, replay, 'request'),
    responseBody: compareBodies(original, replay, 'response'),
  };
}

/** By name, case-insensitively; repeated headers (Set-Cookie) compare as their values in order. */
export function compareHeaders(original: readonly string[], replay: readonly string[]): HeaderChange[] {
  const a = groupHeaders(original);
  const b = groupHeaders(replay);
  const changes: HeaderChange[] = [];
  for (const [key, { name, value }] of a) {
    const other = b.get(key);
    if (!other) changes.push({ name, change: 'removed', original: value });
    else changes.push({ name, change: other.value === value ? 'same' : 'changed', original: value, replay: other.value });
  }
  for (const [key, { name, value }] of b) if (!a.has(key)) changes.push({ name, change: 'added', replay: value });
  return changes;
}

function groupHeaders(raw: readonly string[]): Map<string, { name: string; value: string }> {
  const groups = new Map<string, { name: string; value: string }>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i].toLowerCase();
    const group = groups.get(key);
    if (group) group.value += `\n${raw[i + 1]}`;
    else groups.set(key, { name: raw[i], value: raw[i + 1] });
  }
  return groups;
}

function compareBodies(original: RequestRecord, replay: RequestRecord, side: 'request' | 'response'): BodyDiff {
  const view = (r: RequestRecord) =>
    side === 'request'
      ? bodyView(r.requestBody, r.requestHeaders, r.requestBytes, r.requestBodyTruncated)
      : bodyView(r.responseBody, r.responseHeaders, r.responseBytes, r.responseBodyTruncated);
  const a = view(original);
  const b = view(replay);
  const text = (v: typeof a) => (v.kind === 'json' && v.pretty ? v.pretty.map(([, t]) => t).join('') : v.raw);
  const left = text(a);
  const right = text(b);
  if (left === undefined || right === undefined) {
    const bytes = (r: RequestRecord) => (side === 'request' ? r.requestBody : r.responseBody);
    const same = bytes(original).equals(bytes(replay));
    const sizes = `${formatBytes(bytes(original).length)} and ${formatBytes(bytes(replay).length)}`;
    const note =
      a.kind === 'empty' && b.kind === 'empty'
        ? 'neither has a body'
        : same
          ? `identical, ${formatBytes(bytes(original).length)}`
          : `not text: bodies of ${sizes} differ`;
    return { same, note, lines: [] };
  }
  if (left === right) return { same: true, note: `identical, ${formatBytes(Buffer.byteLength(left))} of text`, lines: [] };
  return diffText(left, right);
}

/** A line diff with CONTEXT unchanged lines around each change. */
export function diffText(left: string, right: string): BodyDiff {
  const changes = diffLines(left, right, { maxEditLength: MAX_EDITS, timeout: DIFF_TIMEOUT_MS });
  if (!changes) return { same: false, note: 'the bodies differ too much to show line by line', lines: [] };
  const all: DiffLine[] = [];
  for (const change of changes) {
    const op = change.added ? '+' : change.removed ? '-' : ' ';
    const lines = change.value.endsWith('\n') ? change.value.slice(0, -1).split('\n') : change.value.split('\n');
    for (const line of lines) all.push([op, line]);
  }
  const keep = all.map(() => false);
  all.forEach(([op], i) => {
    if (op === ' ') return;
    for (let j = Math.max(0, i - CONTEXT); j <= Math.min(all.length - 1, i + CONTEXT); j++) keep[j] = true;
  });
  const lines: DiffLine[] = [];
  for (let i = 0; i < all.length; i++) {
    if (keep[i]) {
      lines.push(all[i]);
      continue;
    }
    let end = i;
    while (end + 1 < all.length && !keep[end + 1]) end++;
    const count = end - i + 1;
    lines.push(['…', `${count} unchanged line${count === 1 ? '' : 's'}`]);
    i = end;
  }
  const added = all.filter(([op]) => op === '+').length;
  const removed = all.filter(([op]) => op === '-').length;
  return { same: false, note: `${removed} line${removed === 1 ? '' : 's'} removed, ${added} added`, lines };
}
