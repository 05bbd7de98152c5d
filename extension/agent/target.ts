/**
 * What a person may type as "the thing to share": a port, host:port, or an http(s) URL. The one
 * parser of that grammar: the agent, the CLI and the quick pick (which validates as the user types)
 * all use it. No vscode import.
 */

import { isLocalhostAlias } from '../../core/addresses.js';

export interface Target {
  /** What was typed, trimmed. */
  input: string;
  /** The local server to connect to, exactly as typed (127.0.0.1 stays 127.0.0.1), e.g. http://127.0.0.1:5173. */
  origin: string;
  /** Full local URL, e.g. http://localhost:5173. */
  url: string;
  /** Short label for the status bar: ":5173" on this machine, "host:port" elsewhere. */
  label: string;
  /** Identifies the local server: two inputs naming the same server share one key. */
  key: string;
  /**
   * What a typed URL had after its origin (`/app?tab=2`), or '' for none. A share is always the whole
   * server (its pages link to /assets/…); this is the page its link should open.
   */
  path: string;
}

export const TARGET_HINT = 'Type a port (5173), host:port (localhost:5173) or a URL (http://127.0.0.1:5173).';

export function parseTarget(raw: string): Target | { error: string } {
  const input = raw.trim();
  if (!input) return { error: TARGET_HINT };
  let url: URL;
  try {
    if (/^\d+$/.test(input)) url = new URL(`http://localhost:${input}`);
    else if (/^https?:\/\//i.test(input)) url = new URL(input);
    else if (/^(\[[0-9a-f:.]+\]|[\w.-]+):\d+$/i.test(input)) url = new URL(`http://${input}`);
    else return { error: `“${input}” is not a port or URL. ${TARGET_HINT}` };
  } catch {
    return { error: `“${input}” is not a valid address. ${TARGET_HINT}` };
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { error: `Port ${url.port || input} is out of range: ports go from 1 to 65535.` };
  }
  const loopback = isLocalhostAlias(url.hostname);
  const host = loopback ? 'localhost' : url.hostname.toLowerCase();
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const rest = `${url.pathname}${url.search}${url.hash}`;
  return {
    input,
    origin: url.origin,
    url: `${scheme}://${loopback ? 'localhost' : url.hostname}:${port}`,
    label: `${scheme === 'https' ? 'https ' : ''}${loopback ? '' : url.hostname}:${port}`,
    key: `${scheme}://${host}:${port}`,
    path: rest === '/' ? '' : rest,
  };
}
