/**
 * Keeps a line that can repeat at a peer's whim (a refused connection, a rejected agent) or on a
 * timer (a cluster heartbeat while Redis is away) from flooding the log: at most one line per key
 * per window, and that line says how many times it happened since the previous one. Keys are
 * remembered up to a bound; past it, the rest share one line per window.
 */
import type { Log, LogFields } from './log.js';

/** A line to write now, covering `count` occurrences (this one included) of its key, or with `others` of every key past the bound. */
export interface DueLine {
  count: number;
  others: boolean;
}

export class LogThrottle {
  private readonly lastLine = new Map<string, { at: number; count: number }>();
  private others = { at: Number.NEGATIVE_INFINITY, count: 0 };

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxKeys = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one occurrence for `key`; returns the line to write when one is due, undefined when it is held back. */
  due(key: string): DueLine | undefined {
    const now = this.now();
    let entry = this.lastLine.get(key);
    if (!entry) {
      if (this.lastLine.size >= this.maxKeys) this.forget(now);
      if (this.lastLine.size >= this.maxKeys) return this.dueForOthers(now);
      entry = { at: Number.NEGATIVE_INFINITY, count: 0 };
      this.lastLine.set(key, entry);
    }
    entry.count++;
    if (now - entry.at < this.windowMs) return undefined;
    const line = { count: entry.count, others: false };
    entry.at = now;
    entry.count = 0;
    return line;
  }

  private dueForOthers(now: number): DueLine | undefined {
    this.others.count++;
    if (now - this.others.at < this.windowMs) return undefined;
    const line = { count: this.others.count, others: true };
    this.others = { at: now, count: 0 };
    return line;
  }

  private forget(now: number): void {
    for (const [key, entry] of this.lastLine) if (now - entry.at >= this.windowMs) this.lastLine.delete(key);
  }
}

/** A log line about a peer: its event, its address (`remote`) and what else it says. */
export type PeerLog = (event: string, remote: string | undefined, fields: LogFields) => void;

/**
 * `log` for lines a peer can cause at will (a refused or rejected agent, a protocol error): each
 * event at most once a minute per address, with `times` saying how many it stands for.
 */
export function peerLog(log: Log, now: () => number = Date.now): PeerLog {
  const throttle = new LogThrottle(undefined, undefined, now);
  return (event, remote, fields) => {
    const line = throttle.due(`${event} ${remote ?? ''}`);
    if (!line) return;
    const said = { ...fields, remote: line.others ? 'others (too many addresses to tell apart)' : remote };
    log(event, line.count > 1 ? { ...said, times: line.count } : said);
  };
}
