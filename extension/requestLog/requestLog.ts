/**
 * The request log of one share: a bounded ring of entries, oldest evicted first, so a busy tunnel
 * never grows the extension's memory. Pure (no vscode), so it is unit-tested on its own.
 */

export interface LogEntry<T> {
  /** Sequence number within this log, increasing by one per entry; never reused, even after clear(). */
  seq: number;
  record: T;
}

export const DEFAULT_MAX_ENTRIES = 1000;

export class RequestLog<T> {
  private ring: (LogEntry<T> | undefined)[];
  /** Index in `ring` of the oldest entry. */
  private head = 0;
  private count = 0;
  private nextSeq = 1;

  constructor(capacity = DEFAULT_MAX_ENTRIES) {
    this.ring = new Array(checkCapacity(capacity));
  }

  get capacity(): number {
    return this.ring.length;
  }

  get size(): number {
    return this.count;
  }

  /** Sequence number of the oldest entry kept, or of the next entry when the log is empty. */
  get oldestSeq(): number {
    return this.count === 0 ? this.nextSeq : this.at(0).seq;
  }

  add(record: T): LogEntry<T> {
    const entry = { seq: this.nextSeq++, record };
    if (this.count < this.ring.length) {
      this.ring[(this.head + this.count) % this.ring.length] = entry;
      this.count++;
    } else {
      this.ring[this.head] = entry;
      this.head = (this.head + 1) % this.ring.length;
    }
    return entry;
  }

  /** Entry by sequence number, if still kept. O(1): sequence numbers are contiguous in the ring. */
  get(seq: number): LogEntry<T> | undefined {
    const offset = seq - this.oldestSeq;
    return offset >= 0 && offset < this.count ? this.at(offset) : undefined;
  }

  /** Entries oldest first. */
  entries(): LogEntry<T>[] {
    const out: LogEntry<T>[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.at(i));
    return out;
  }

  /** The most recent entry whose record satisfies `match`. */
  findLast(match: (record: T) => boolean): LogEntry<T> | undefined {
    for (let i = this.count - 1; i >= 0; i--) {
      const entry = this.at(i);
      if (match(entry.record)) return entry;
    }
    return undefined;
  }

  clear(): void {
    this.ring = new Array(this.ring.length);
    this.head = 0;
    this.count = 0;
  }

  /** Changes the bound, keeping the newest entries that still fit. */
  resize(capacity: number): void {
    const kept = this.entries().slice(-checkCapacity(capacity));
    this.ring = new Array(capacity);
    for (const [i, entry] of kept.entries()) this.ring[i] = entry;
    this.head = 0;
    this.count = kept.length;
  }

  private at(offset: number): LogEntry<T> {
    // biome-ignore lint/style/noNonNullAssertion: callers stay below `count`, where every slot is filled
    return this.ring[(this.head + offset) % this.ring.length]!;
  }
}

function checkCapacity(capacity: number): number {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`The request log size must be a whole number of at least 1, not ${capacity}.`);
  }
  return capacity;
}
