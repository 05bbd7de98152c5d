/**
 * Which local TCP ports are listening: the sockets as each OS lists them (no native modules), with
 * their processes, ranked by portRanking.ts. httpProbe.ts asks them for HTTP; portWatcher.ts watches
 * for new ones. No vscode import: the tests use this module as it is.
 */
import { execFile } from 'node:child_process';
import fsSync, { promises as fs } from 'node:fs';
import os from 'node:os';
import {
  parseLsof,
  parseNetstat,
  parseProcCmdline,
  parseProcNetTcp,
  parsePsCommandLines,
  parseSocketInode,
  parseTasklistCsv,
  type Listener,
} from './portParsers.js';
import { type ListeningPort, rankListeners } from './portRanking.js';

export interface PortScan {
  /** Most likely dev servers first. */
  ports: ListeningPort[];
  /** Why the list may be incomplete, for a person to read; empty when the scan went well. */
  problems: string[];
}

interface OwnedListeners {
  listeners: Listener[];
  problems: string[];
}

/** Where listening sockets are read from: /proc (Linux), lsof (macOS, BSDs, and Linux too), Windows' netstat. */
export type PortSource = 'proc' | 'lsof' | 'netstat';

export interface ScanOptions {
  /** Also return VS Code's own ports and system services. */
  includeHidden?: boolean;
  /** Defaults to this platform's own; lsof also works on Linux, where it is installed. */
  source?: PortSource;
}

/** Lists listening TCP ports on loopback or all interfaces. Never rejects: failures come back as problems. */
export async function scanPorts(options: ScanOptions = {}): Promise<PortScan> {
  const source = options.source ?? (process.platform === 'linux' ? 'proc' : process.platform === 'win32' ? 'netstat' : 'lsof');
  const { listeners, problems } = await { proc: readProc, lsof: readLsof, netstat: readNetstat }[source]();
  return { ports: rankListeners(listeners, options), problems };
}

type ProcessDetails = Pick<Listener, 'pid' | 'processName' | 'commandLine'>;

/** Process details by socket inode (/proc) or by PID, so that a steady poll re-reads only the list of sockets. */
const socketOwners = new Map<number, ProcessDetails>();
const lsofDetails = new Map<number, ProcessDetails>();
const netstatDetails = new Map<number, ProcessDetails>();

function keepOnly(cache: Map<number, ProcessDetails>, keys: Set<number>): void {
  for (const key of cache.keys()) if (!keys.has(key)) cache.delete(key);
}

async function readProc(): Promise<OwnedListeners> {
  const problems: string[] = [];
  const byteOrder = os.endianness();
  const tables = await Promise.all(
    ['/proc/net/tcp', '/proc/net/tcp6'].map(async (path) => {
      try {
        return parseProcNetTcp(await fs.readFile(path, 'latin1'), byteOrder);
      } catch (error) {
        // A kernel without IPv6 has no tcp6 table; that is not a problem worth telling anyone about.
        if (!(path.endsWith('6') && errorCode(error) === 'ENOENT'))
          problems.push(`Could not read ${path} to list listening ports: ${message(error)}.`);
        return [];
      }
    }),
  );
  const sockets = tables.flat();
  keepOnly(socketOwners, new Set(sockets.map((s) => s.inode)));
  const unknown = sockets.filter((s) => !socketOwners.has(s.inode));
  // Without root, another user's /proc/<pid>/fd cannot be read, so their sockets are not looked for.
  const uid = process.getuid?.() ?? 0;
  const searchable = new Set(unknown.filter((s) => uid === 0 || s.uid === uid).map((s) => s.inode));
  const owners = searchable.size > 0 ? await findSocketOwners(searchable) : new Map<number, number>();
  await Promise.all(
    unknown.map(async ({ inode }) => {
      const pid = owners.get(inode);
      // Remembered even when not found (another user's or another namespace's process), so it is not searched for again.
      socketOwners.set(inode, pid === undefined ? {} : { pid, ...(await readProcess(pid)) });
    }),
  );
  const listeners = sockets.map(({ port, address, inode }) => ({ port, address, ...socketOwners.get(inode) }));
  return { listeners, problems };
}

const LINKS_BETWEEN_YIELDS = 256;

/**
 * Finds which processes hold the given socket inodes by reading /proc/<pid>/fd links. Newest
 * processes first, since a new port usually belongs to a process that just started; stops as soon
 * as every inode is found. A socket whose process we may not read, or which exits while we look, is
 * left without an owner. Synchronous calls cost a quarter of the CPU of their promise versions;
 * yielding every few hundred keeps the event loop free.
 */
async function findSocketOwners(inodes: Set<number>): Promise<Map<number, number>> {
  const owners = new Map<number, number>();
  const pids = orEmpty(() => fsSync.readdirSync('/proc'), [])
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .sort((a, b) => b - a);
  let linksRead = 0;
  for (const pid of pids) {
    for (const fd of orEmpty(() => fsSync.readdirSync(`/proc/${pid}/fd`), [])) {
      const inode = parseSocketInode(orEmpty(() => fsSync.readlinkSync(`/proc/${pid}/fd/${fd}`), ''));
      if (inode !== undefined && inodes.has(inode) && !owners.has(inode)) owners.set(inode, pid);
      if (++linksRead % LINKS_BETWEEN_YIELDS === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    if (owners.size === inodes.size) break;
  }
  return owners;
}

/** EACCES (another user's process) and ENOENT (it exited, or closed that descriptor) just mean "nothing here". */
function orEmpty<T>(read: () => T, empty: T): T {
  try {
    return read();
  } catch {
    return empty;
  }
}

async function readProcess(pid: number): Promise<ProcessDetails> {
  const [comm, cmdline] = await Promise.all(['comm', 'cmdline'].map((file) => fs.readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => '')));
  const processName = comm.trim();
  const commandLine = parseProcCmdline(cmdline);
  return { ...(processName ? { processName } : {}), ...(commandLine ? { commandLine } : {}) };
}

async function readLsof(): Promise<OwnedListeners> {
  // +c 0: whole command names, not their first 9 characters. lsof exits with 1 when nothing listens.
  const lsof = await run('lsof', ['-nP', '-iTCP', '-sTCP:LISTEN', '+c', '0'], [1]);
  if ('failure' in lsof) return { listeners: [], problems: [cannotList(lsof.failure)] };
  return withProcessDetails(parseLsof(lsof.stdout), lsofDetails, async (pids) => {
    const ps = await run('ps', ['-ww', '-o', 'pid=,command=', '-p', pids.join(',')], [1]);
    if ('failure' in ps) return `Listening ports are shown without command lines: ${ps.failure}.`;
    return new Map([...parsePsCommandLines(ps.stdout)].map(([pid, commandLine]) => [pid, { commandLine }]));
  });
}

async function readNetstat(): Promise<OwnedListeners> {
  // One call lists IPv4 and IPv6 sockets alike; "-p tcp" would leave out the [::] rows.
  const netstat = await run('netstat', ['-ano'], []);
  if ('failure' in netstat) return { listeners: [], problems: [cannotList(netstat.failure)] };
  return withProcessDetails(parseNetstat(netstat.stdout), netstatDetails, async () => {
    const tasklist = await run('tasklist', ['/FO', 'CSV', '/NH'], []);
    if ('failure' in tasklist) return `Listening ports are shown without process names: ${tasklist.failure}.`;
    return new Map([...parseTasklistCsv(tasklist.stdout)].map(([pid, processName]) => [pid, { processName }]));
  });
}

/** Adds details from `lookup` for PIDs not seen before. A failed lookup is told, and tried again next scan. */
async function withProcessDetails(
  listeners: Listener[],
  cache: Map<number, ProcessDetails>,
  lookup: (pids: number[]) => Promise<Map<number, ProcessDetails> | string>,
): Promise<OwnedListeners> {
  const pids = new Set(listeners.flatMap((l) => (l.pid === undefined ? [] : [l.pid])));
  keepOnly(cache, pids);
  const unknown = [...pids].filter((pid) => !cache.has(pid));
  const details = unknown.length > 0 ? await lookup(unknown) : new Map<number, ProcessDetails>();
  if (typeof details !== 'string') for (const pid of unknown) cache.set(pid, details.get(pid) ?? {});
  const withDetails = (l: Listener): Listener => ({ ...l, ...(l.pid === undefined ? {} : cache.get(l.pid)) });
  return { listeners: listeners.map(withDetails), problems: typeof details === 'string' ? [details] : [] };
}

function cannotList(failure: string): string {
  return `Could not list listening ports: ${failure}. Ports can still be shared by number.`;
}

const COMMAND_TIMEOUT_MS = 5000;

/** Runs a listing command; exit codes in okCodes still count as output. */
function run(command: string, args: string[], okCodes: number[]): Promise<{ stdout: string } | { failure: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 32 << 20, windowsHide: true }, (error, stdout, stderr) => {
      const code = error && 'code' in error ? error.code : undefined;
      if (!error || (typeof code === 'number' && okCodes.includes(code))) return resolve({ stdout });
      resolve({
        failure:
          code === 'ENOENT'
            ? `${command} was not found on the PATH`
            : error.killed
              ? `${command} took longer than ${COMMAND_TIMEOUT_MS / 1000} s`
              : `${command} failed (${stderr.trim() || error.message})`,
      });
    });
  });
}

function errorCode(error: unknown): unknown {
  return error instanceof Error && 'code' in error ? error.code : undefined;
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
