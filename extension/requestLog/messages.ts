/** Messages between the request-log panel (view.ts) and its page (webview/main.ts). */
import type { Comparison } from './compare.js';
import type { LogFilter } from './filter.js';
import type { LogDetail, LogRow } from './format.js';
import type { ReplayEdits } from './replayEdits.js';

export type ToPage =
  /** Replaces every row (first load, filter change, clear, page reloaded after being hidden). */
  | { type: 'reset'; rows: LogRow[]; filter: LogFilter; status: string; canReplay: boolean }
  /** New rows, oldest first; rows with a seq below `oldestSeq` have left the ring and go too. */
  | { type: 'append'; rows: LogRow[]; oldestSeq: number }
  | { type: 'detail'; detail: LogDetail | null }
  | { type: 'select'; seq: number }
  | { type: 'status'; status: string; canReplay: boolean }
  /** `info` confirms what happened (copied, saved); `error` says what went wrong; empty text hides it. */
  | { type: 'notice'; text: string; tone: 'info' | 'error' }
  | { type: 'comparison'; comparison: Comparison };

export type FromPage =
  | { type: 'ready' }
  | { type: 'filter'; filter: LogFilter }
  | { type: 'clear' }
  | { type: 'select'; seq: number }
  /** Without edits: the logged request as it was. */
  | { type: 'replay'; seq: number; edits?: ReplayEdits }
  | { type: 'compare'; seq: number }
  | { type: 'copyCurl'; seq: number }
  | { type: 'exportHar' };
