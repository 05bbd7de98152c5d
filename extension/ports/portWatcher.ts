/** Watches for new listening ports, so the extension can offer "Share port 5173?" once. */
import { EventEmitter } from 'node:events';
import type { ListeningPort } from './portRanking.js';
import { message, scanPorts, type PortScan } from './ports.js';

export interface PortWatcherEvents {
  added: [port: ListeningPort];
  removed: [port: ListeningPort];
  /** Once per port number for the watcher's life: the moment to offer "Share port 5173?". */
  likelyDevServer: [port: ListeningPort];
  /** A scan problem, told once until the problems change. */
  problem: [message: string];
}

/**
 * Polls scanPorts and reports changes. The first scan reports every port already listening as
 * added, but offers none of them: those servers were running before the watcher started, and
 * offering them on every start would nag. Its timer does not keep the process alive; call dispose() to stop.
 */
export class PortWatcher extends EventEmitter<PortWatcherEvents> {
  static readonly MIN_INTERVAL_MS = 2000;
  readonly intervalMs: number;
  private current = new Map<number, ListeningPort>();
  private readonly offered = new Set<number>();
  private readonly timer: NodeJS.Timeout;
  private scanning = false;
  private disposed = false;
  private lastProblems = '';
  private firstScan = true;
  /** Resolves once the first scan is done: ports listening from then on count as new. */
  readonly ready: Promise<void>;

  constructor(options: { intervalMs?: number } = {}) {
    super();
    this.intervalMs = Math.max(options.intervalMs ?? PortWatcher.MIN_INTERVAL_MS, PortWatcher.MIN_INTERVAL_MS);
    this.timer = setInterval(() => void this.poll(), this.intervalMs).unref();
    this.ready = this.poll();
  }

  /** The ports seen by the last scan, most likely dev servers first. */
  get ports(): ListeningPort[] {
    return [...this.current.values()];
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.timer);
    this.removeAllListeners();
  }

  private async poll(): Promise<void> {
    if (this.scanning || this.disposed) return; // a slow scan is never stacked under the next one
    this.scanning = true;
    try {
      const scan = await scanPorts();
      if (!this.disposed) this.update(scan);
    } catch (error) {
      this.reportProblems([`Port scan failed unexpectedly: ${message(error)}`]);
    } finally {
      this.scanning = false;
    }
  }

  private update(scan: PortScan): void {
    this.reportProblems(scan.problems);
    const previous = this.current;
    this.current = new Map(scan.ports.map((p) => [p.port, p]));
    for (const [port, old] of previous) {
      if (!sameListener(old, this.current.get(port))) this.emit('removed', old);
    }
    for (const [port, found] of this.current) {
      if (sameListener(found, previous.get(port))) continue;
      this.emit('added', found);
      if (found.category === 'dev-server' && !this.offered.has(port)) {
        this.offered.add(port);
        if (!this.firstScan) this.emit('likelyDevServer', found);
      }
    }
    this.firstScan = false;
  }

  private reportProblems(problems: string[]): void {
    const key = problems.join('\n');
    if (key !== this.lastProblems) for (const problem of problems) this.emit('problem', problem);
    this.lastProblems = key;
  }
}

/** A server restarted between two polls keeps its port but not its PID: that is a removal and an addition. */
function sameListener(a: ListeningPort, b: ListeningPort | undefined): boolean {
  return b !== undefined && a.pid === b.pid;
}
