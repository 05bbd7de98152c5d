/**
 * What `porthole share` prints: a line for a person, or with --json one JSON object per line
 * ({"event": …}; the README lists the events).
 */
import { formatBytes } from '../../core/text.js';
import type { RequestRecord } from '../agent/requestRecord.js';

/** `text` may be a function, so a line nobody will read (in --json mode) is never formatted. */
export type Output = ((event: string, fields: Record<string, unknown>, text?: string | (() => string)) => void) & { flush(): void };

/**
 * Lines printed in one turn of the event loop leave in one write: under load, a system call per
 * request line cost more CPU than the agent's own work on that request.
 */
export function output(json: boolean): Output {
  let pending = '';
  const flush = () => {
    if (pending) process.stdout.write(pending);
    pending = '';
  };
  const say = (event: string, fields: Record<string, unknown>, text?: string | (() => string)) => {
    const line = json ? JSON.stringify({ event, ...fields }) : typeof text === 'function' ? text() : text;
    if (line === undefined) return;
    if (!pending) setImmediate(flush);
    pending += `${line}\n`;
  };
  return Object.assign(say, { flush });
}

/** One request as a line: method, path, status, duration, size (and what compression made of it). */
export function requestLine(r: RequestRecord): string {
  const status = r.error ? 'ERR' : String(r.status ?? '-');
  const size = `${formatBytes(r.responseBytes).padStart(10)}${r.compression ? ` → ${formatBytes(r.compression.bytes)} ${r.compression.encoding}` : ''}`;
  return `${r.method.padEnd(7)} ${r.path.length > 60 ? `${r.path.slice(0, 59)}…` : r.path.padEnd(60)} ${status.padStart(3)} ${`${r.durationMs ?? 0} ms`.padStart(10)} ${size}${r.error ? `  ${r.error}` : ''}`;
}

/** The request event's fields. */
export function requestFields(r: RequestRecord): Record<string, unknown> {
  return {
    id: r.id,
    method: r.method,
    path: r.path,
    status: r.status,
    durationMs: r.durationMs,
    requestBytes: r.requestBytes,
    responseBytes: r.responseBytes,
    encoding: r.compression?.encoding,
    encodedBytes: r.compression?.bytes,
    upgrade: r.upgrade || undefined,
    error: r.error,
  };
}
