/** A clock a test moves by hand, for grace periods, heartbeats and handshake deadlines without sleeping. */
import type { Clock, Timer } from '../core/clock';

interface ManualTimer {
  at: number;
  /** Set for a repeating timer: its interval. */
  every?: number;
  callback: () => void;
}

export class ManualClock implements Clock {
  private time: number;
  private timers: ManualTimer[] = [];

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  after(ms: number, callback: () => void): Timer {
    return this.add({ at: this.time + ms, callback });
  }

  every(ms: number, callback: () => void): Timer {
    return this.add({ at: this.time + ms, every: ms, callback });
  }

  cancel(timer: Timer | undefined): void {
    const index = this.timers.indexOf(timer as ManualTimer);
    if (index !== -1) this.timers.splice(index, 1);
  }

  /** Moves time forward by `ms`, firing each timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      // The first due; of two due at once, the one set first.
      const due = this.timers.reduce<ManualTimer | undefined>(
        (first, t) => (t.at <= end && (!first || t.at < first.at) ? t : first),
        undefined,
      );
      if (!due) break;
      this.time = due.at;
      if (due.every) due.at += due.every;
      else this.timers.splice(this.timers.indexOf(due), 1);
      due.callback();
    }
    this.time = end;
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.length;
  }

  private add(timer: ManualTimer): Timer {
    this.timers.push(timer);
    return timer;
  }
}
