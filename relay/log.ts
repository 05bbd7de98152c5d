/** Relay logs: one line per event, readable text by default, one JSON object per line with --log-format json. */
export type LogFields = Record<string, string | number | boolean | undefined>;
export type Log = (event: string, fields?: LogFields) => void;

/**
 * Characters of one field a line keeps: room for a long URL or a stack trace, while text a peer
 * chose (an agent's name may be 128 KiB) cannot make each line that long.
 */
const MAX_FIELD_CHARS = 2048;

export function createLog(format: 'text' | 'json', write: (line: string) => void = (line) => process.stderr.write(line)): Log {
  if (format === 'json') {
    return (event, fields = {}) => write(`${JSON.stringify({ time: new Date().toISOString(), event, ...capped(fields) })}\n`);
  }
  return (event, fields = {}) => {
    const details = Object.entries(capped(fields))
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${typeof value === 'string' && NEEDS_QUOTES.test(value) ? quoted(value) : value}`)
      .join(' ');
    write(`${new Date().toISOString()} ${event}${details ? ` ${details}` : ''}\n`);
  };
}

/** The fields with each string cut to MAX_FIELD_CHARS, saying how much was left out. */
function capped(fields: LogFields): LogFields {
  let out: LogFields | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (typeof value !== 'string' || value.length <= MAX_FIELD_CHARS) continue;
    out ??= { ...fields };
    out[key] = `${value.slice(0, MAX_FIELD_CHARS)}…(${value.length - MAX_FIELD_CHARS} more characters)`;
  }
  return out ?? fields;
}

/** Values with spaces or control characters are quoted, so peer text (a URL, an agent's name) cannot forge lines or steer a terminal. */
const NEEDS_QUOTES = /[\s\p{Cc}]/u;

/** JSON string syntax, with the C1 controls and DEL that JSON leaves as they are escaped too. */
function quoted(value: string): string {
  return JSON.stringify(value).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
