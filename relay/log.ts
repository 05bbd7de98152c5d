/** Relay logs: one line per event, readable text by default, one JSON object per line with --log-format json. */
export type LogFields = Record<string, string | number | boolean | undefined>;
export type Log = (event: string, fields?: LogFields) => void;

export function createLog(format: 'text' | 'json', write: (line: string) => void = (line) => process.stderr.write(line)): Log {
  if (format === 'json') {
    return (event, fields = {}) => write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
  }
  return (event, fields = {}) => {
    const details = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${typeof value === 'string' && NEEDS_QUOTES.test(value) ? quoted(value) : value}`)
      .join(' ');
    write(`${new Date().toISOString()} ${event}${details ? ` ${details}` : ''}\n`);
  };
}

/** Values with spaces or control characters are quoted, so peer text (a URL, an agent's name) cannot forge lines or steer a terminal. */
const NEEDS_QUOTES = /[\s\p{Cc}]/u;

/** JSON string syntax, with the C1 controls and DEL that JSON leaves as they are escaped too. */
function quoted(value: string): string {
  return JSON.stringify(value).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
