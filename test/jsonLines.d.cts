/** The JSON value `line` holds, or undefined when it holds none (a plain-text line, a partial one). */
export function jsonLine(line: string): unknown;
/** The JSON values of the lines of `text` that hold one, in order. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[];
