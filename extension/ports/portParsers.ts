/**
 * Pure parsers for what each OS says about listening TCP sockets, and for the first bytes of an
 * HTTP response. The input comes from other programs and the kernel, so every parser skips what it
 * does not understand (headers, other states, other interfaces, garbage, a truncated last line)
 * and never throws. Only listeners reachable from this machine as loopback are kept: a server
 * bound to a LAN address alone is not one a tunnel agent on loopback could reach.
 */

import { reachesThisMachine } from '../../core/addresses.js';

/** A TCP socket in LISTEN state, as one platform's listing reports it. */
export interface Listener {
  port: number;
  /** Numeric and lower-case: '127.0.0.1', '0.0.0.0' (all IPv4), '::1', '::' (all), '::ffff:127.0.0.1'. */
  address: string;
  pid?: number;
  /** The short name the OS keeps: Linux's comm ('node'), lsof's COMMAND, a Windows image ('node.exe'). */
  processName?: string;
  /** The full command line, where the OS tells it (Linux, macOS). */
  commandLine?: string;
}

/** A row of /proc/net/tcp{,6}: the socket inode leads to the owning process, the uid says whether we may look. */
export interface ProcListener extends Listener {
  inode: number;
  uid: number;
}

/** One entry per port: a dev server usually listens on both 127.0.0.1 and ::1, which is one port to a person. */
export function mergeListeners(listeners: Listener[]): Listener[] {
  const byPort = new Map<number, Listener>();
  for (const listener of listeners) {
    const kept = byPort.get(listener.port);
    byPort.set(listener.port, kept && preference(kept) >= preference(listener) ? kept : listener);
  }
  return [...byPort.values()].sort((a, b) => a.port - b.port);
}

// Knowing the process matters most; then IPv4, the form people recognise (127.0.0.1:5173).
function preference(listener: Listener): number {
  return (listener.pid === undefined ? 0 : 2) + (listener.address.includes(':') ? 0 : 1);
}

// --- Linux: /proc/net/tcp and /proc/net/tcp6 ---

// `  12: 0100007F:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000  0 4242 ...`:
// local address and port, remote, state (0A is LISTEN), queues, timer, retransmits, uid, timeout, inode.
// One regular expression over the whole text: a busy machine has thousands of TIME_WAIT rows, and
// this rejects each at its state column without splitting it.
const PROC_LISTEN_ROW =
  /^ *\d+: ([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4}) [0-9A-Fa-f]+:[0-9A-Fa-f]{4} 0A \S+ \S+ \S+ +(\d+) +\d+ (\d+)/gm;

/** The kernel prints each 32-bit word of an address in host byte order, hence byteOrder ('LE' on x86 and arm64). */
export function parseProcNetTcp(text: string, byteOrder: 'LE' | 'BE' = 'LE'): ProcListener[] {
  const listeners: ProcListener[] = [];
  for (const [, hexAddress, hexPort, uid, inode] of text.matchAll(PROC_LISTEN_ROW)) {
    const address = decodeProcAddress(hexAddress, byteOrder);
    const port = parseInt(hexPort, 16);
    if (port > 0 && reachesThisMachine(address)) listeners.push({ port, address, inode: Number(inode), uid: Number(uid) });
  }
  return listeners;
}

function decodeProcAddress(hex: string, byteOrder: 'LE' | 'BE'): string {
  const bytes: number[] = [];
  for (let word = 0; word < hex.length; word += 8) {
    const wordBytes = [0, 2, 4, 6].map((i) => parseInt(hex.slice(word + i, word + i + 2), 16));
    bytes.push(...(byteOrder === 'LE' ? wordBytes.reverse() : wordBytes));
  }
  return bytes.length === 4 ? bytes.join('.') : formatIPv6(bytes);
}

/** RFC 5952 text: lower case, the longest run of zero groups shortened to '::', IPv4-mapped as ::ffff:a.b.c.d. */
function formatIPv6(bytes: number[]): string {
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not shortened
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** A /proc/<pid>/fd/<n> link target such as `socket:[123456]`; undefined for files, pipes and the like. */
export function parseSocketInode(linkTarget: string): number | undefined {
  const match = /^socket:\[(\d+)\]$/.exec(linkTarget);
  return match ? Number(match[1]) : undefined;
}

/** /proc/<pid>/cmdline separates arguments with NUL and ends with one. */
export function parseProcCmdline(raw: string): string {
  return raw.split('\0').filter(Boolean).join(' ');
}

// --- macOS: lsof -nP -iTCP -sTCP:LISTEN +c 0 ---

// NAME is the last column: `*:5173 (LISTEN)`, `127.0.0.1:3000`, `[::1]:8080`. A connection has `->`
// before the remote end, which the leading \s excludes.
const LSOF_NAME = /\s(\*|\[[0-9A-Fa-f:.%]+\]|[0-9.]+):(\d+)(?:\s+\((\w+)\))?\s*$/;

/** Columns: COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME; middle ones may be blank, so only the ends are trusted. */
export function parseLsof(text: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[1]);
    const name = LSOF_NAME.exec(line);
    if (!Number.isInteger(pid) || pid <= 0 || !name || (name[3] !== undefined && name[3] !== 'LISTEN')) continue;
    const host = name[1]
      .replace(/^\[|\]$/g, '')
      .replace(/%.*$/, '')
      .toLowerCase();
    const address = host !== '*' ? host : fields.includes('IPv6') ? '::' : '0.0.0.0';
    const port = Number(name[2]);
    if (port > 0 && port < 65536 && reachesThisMachine(address)) {
      listeners.push({ port, address, pid, processName: unescapeLsof(fields[0]) });
    }
  }
  return listeners;
}

/** lsof prints spaces and unprintable bytes in COMMAND as \xHH (`Code\x20Helper`). */
function unescapeLsof(command: string): string {
  return command.replace(/\\x([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** `ps -ww -o pid=,command= -p 1,2` prints `  123 /usr/local/bin/node server.js` lines. */
export function parsePsCommandLines(text: string): Map<number, string> {
  const commandLines = new Map<number, string>();
  for (const line of text.split('\n')) {
    const match = /^\s*(\d+)\s+(\S.*?)\s*$/.exec(line);
    if (match) commandLines.set(Number(match[1]), match[2]);
  }
  return commandLines;
}

// --- Windows: netstat -ano and tasklist /FO CSV /NH ---

/**
 * Rows look like `  TCP    [::1]:5173    [::]:0    LISTENING    4242`. Windows translates the state
 * (ABHÖREN, ÉCOUTE…) but not the addresses, and only a listener has a remote port of 0, so that is
 * what identifies one.
 */
export function parseNetstat(text: string): Listener[] {
  const listeners: Listener[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 5 || fields[0].toUpperCase() !== 'TCP' || !/:0$/.test(fields[2]) || !/^\d+$/.test(fields[4])) continue;
    const separator = fields[1].lastIndexOf(':');
    const address = fields[1]
      .slice(0, separator)
      .replace(/^\[|\]$/g, '')
      .replace(/%.*$/, '')
      .toLowerCase();
    const port = Number(fields[1].slice(separator + 1));
    const pid = Number(fields[4]);
    if (separator > 0 && Number.isInteger(port) && port > 0 && port < 65536 && reachesThisMachine(address)) {
      listeners.push({ port, address, ...(pid > 0 ? { pid } : {}) });
    }
  }
  return listeners;
}

/** `"node.exe","4242","Console","1","85,432 K"` rows; image names by PID. */
export function parseTasklistCsv(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split(/\r?\n/)) {
    const cells = [...line.matchAll(/"((?:[^"]|"")*)"/g)].map((match) => match[1].replace(/""/g, '"'));
    const pid = Number(cells[1]);
    if (cells.length >= 2 && cells[0] && /^\d+$/.test(cells[1])) names.set(pid, cells[0]);
  }
  return names;
}

// --- HTTP probe responses ---

export interface HttpProbe {
  status: number;
  /** The page's <title>, when it came within the bytes read. */
  title?: string;
}

/** The start of a raw response: `HTTP/1.1 200 OK` headers and maybe some HTML. Undefined when it is not HTTP. */
export function parseHttpResponseStart(text: string): HttpProbe | undefined {
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})\b/.exec(text);
  if (!status) return undefined;
  const title = /<title\b[^>]*>([\s\S]*?)<\/title\s*>/i.exec(text);
  const cleaned = title && decodeEntities(title[1]).replace(/\s+/g, ' ').trim().slice(0, 200);
  return cleaned ? { status: Number(status[1]), title: cleaned } : { status: Number(status[1]) };
}

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    if (body[0] !== '#') return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
    const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : Number(body.slice(1));
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
}
