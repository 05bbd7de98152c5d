// The JSON values in a process's output, one a line (the CLI's --json, the relay's --log-format json):
// one parser for the TypeScript suites and the plain-Node rigs (bench, frameworks) alike.
'use strict';

/** The JSON value `line` holds, or undefined when it holds none (a plain-text line, a partial one). */
function jsonLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The JSON values of the lines of `text` that hold one, in order. */
function jsonLines(text) {
  return text
    .split('\n')
    .map(jsonLine)
    .filter((value) => value !== undefined);
}

module.exports = { jsonLine, jsonLines };
