/** Messages between the request-log panel (requestLogView.ts) and its page (requestLogClient.ts). */
import type { LogDetail, LogFilter, LogRow } from './format.js';

export type ToPage =
  /** Replaces every row (first load, filter change, clear, page reloaded after being hidden). */
  | { type: 'reset'; rows: LogRow[]; filter: LogFilter; status: string; canReplay: boolean }
  /** New rows, oldest first; rows with a seq below `oldestSeq` have left the ring and go too. */
  | { type: 'append'; rows: LogRow[]; oldestSeq: number }
  | { type: 'detail'; detail: LogDetail | null }
  | { type: 'select'; seq: number }
  | { type: 'status'; status: string; canReplay: boolean }
  | { type: 'notice'; text: string };

export type FromPage =
  | { type: 'ready' }
  | { type: 'filter'; filter: LogFilter }
  | { type: 'clear' }
  | { type: 'select'; seq: number }
  | { type: 'replay'; seq: number };
