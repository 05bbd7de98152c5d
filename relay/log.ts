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
      .map(([key, value]) => `${key}=${typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : value}`)
      .join(' ');
    write(`${new Date().toISOString()} ${event}${details ? ` ${details}` : ''}\n`);
  };
}
