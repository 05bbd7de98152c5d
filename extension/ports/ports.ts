/**
 * Which local TCP ports could be shared: list the listening sockets the way each OS allows (no
 * native modules), rank likely dev servers first, and probe for HTTP. portWatcher.ts watches for new ones.
 * No vscode import: the CLI and the tests use this module as it is.
 */
import { execFile } from 'node:child_process';
import fsSync, { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import {
  mergeListeners,
  parseHttpResponseStart,
  parseLsof,
  parseNetstat,
  parseProcCmdline,
  parseProcNetTcp,
  parsePsCommandLines,
  parseSocketInode,
  parseTasklistCsv,
  type HttpProbe,
  type Listener,
} from './portParsers.js';

export type { HttpProbe, Listener } from './portParsers.js';

/** Hidden by default: 'vscode' (VS Code's own servers) and 'system' (daemons, databases, ports below 1024). */
export type PortCategory = 'dev-server' | 'other' | 'vscode' | 'system';

export interface ListeningPort extends Listener {
  category: PortCategory;
  /** The loopback address to connect to from this machine: '127.0.0.1' or '::1'. */
  host: string;
  /** Set by labelHttp: the port answered HTTP. */
  http?: HttpProbe;
}

export interface PortScan {
  /** Most likely dev servers first. */
  ports: ListeningPort[];
  /** Why the list may be incomplete, for a person to read; empty when the scan went well. */
  problems: string[];
}

// --- Ranking ---

const DEV_TOOL =
  /^(node|nodejs|deno|bun|vite|next|next-server|nuxt|nuxi|astro|remix|webpack|webpack-dev-server|parcel|esbuild|ng|vue-cli-service|gatsby|storybook|http-server|live-server|serve|python[\d.]*|uvicorn|gunicorn|hypercorn|daphne|flask|django-admin|manage\.py|jupyter.*|ruby[\d.]*|rails|puma|unicorn|rackup|php[\d.]*|artisan|java|javaw|dotnet|go|air|hugo|jekyll|eleventy|zola|mix|beam\.smp|cargo|trunk)$/;
const COMMON_DEV_PORTS = new Set([3000, 3001, 4000, 4200, 4321, 5000, 5173, 5174, 8000, 8080, 8888]);
const VSCODE_PROCESS = /^(code|code-insiders|code-oss|codium|code-server|code-tunnel|code helper.*|cursor)$/;
const VSCODE_COMMAND_LINE = /vscode-server|code-server|--type=extensionHost/i;
const SYSTEM_PROCESS =
  /^(sshd|systemd.*|cupsd|postgres|postmaster|mysqld|mariadbd|redis-server|mongod|memcached|dnsmasq|chronyd|ntpd|containerd|dockerd|rpcbind|rpc\..+|avahi-daemon|smbd|nmbd|exim4?|master|sendmail|named|unbound|launchd|mdnsresponder|rapportd|controlcenter|sharingd|system|svchost|lsass|wininit|services|spoolsv|sqlservr)$/;
/** Databases and daemons on their usual ports, hidden even when their owner is not visible to us. */
const SERVICE_PORTS = new Set([2375, 2376, 3306, 5355, 5432, 6379, 11211, 27017]);

/** Names to match: the process name and the programs at the start of its command line (`node …/vite`). */
function programNames(listener: Listener): string[] {
  const words = (listener.commandLine ?? '').split(' ').slice(0, 3);
  return [listener.processName ?? '', ...words]
    .map((word) => (word.split(/[\\/]/).pop() ?? '').toLowerCase().replace(/\.exe$/, ''))
    .filter(Boolean);
}

export function categorize(listener: Listener): PortCategory {
  const names = programNames(listener);
  const name = names[0] ?? '';
  const isDevTool = names.some((n) => DEV_TOOL.test(n)) || /[\\/]go-build\d+[\\/]/.test(listener.commandLine ?? '');
  if (VSCODE_PROCESS.test(name) || VSCODE_COMMAND_LINE.test(listener.commandLine ?? '')) return 'vscode';
  if (SYSTEM_PROCESS.test(name)) return 'system';
  if (listener.port < 1024 && !(isDevTool && (listener.port === 80 || listener.port === 443))) return 'system';
  if (SERVICE_PORTS.has(listener.port) && !isDevTool) return 'system';
  return isDevTool || COMMON_DEV_PORTS.has(listener.port) ? 'dev-server' : 'other';
}

const CATEGORY_ORDER: PortCategory[] = ['dev-server', 'other', 'vscode', 'system'];

/** Merges IPv4 and IPv6 listeners on one port, then sorts: category, a common dev port, a known owner, port number. */
export function rankListeners(listeners: Listener[], options: { includeHidden?: boolean } = {}): ListeningPort[] {
  const weight = (p: ListeningPort) =>
    CATEGORY_ORDER.indexOf(p.category) * 4 - (COMMON_DEV_PORTS.has(p.port) ? 2 : 0) - (p.pid === undefined ? 0 : 1);
  return mergeListeners(listeners)
    .map((listener) => ({ ...listener, category: categorize(listener), host: loopbackHost(listener.address) }))
    .filter((p) => options.includeHidden || p.category === 'dev-server' || p.category === 'other')
    .sort((a, b) => weight(a) - weight(b) || a.port - b.port);
}

function loopbackHost(address: string): string {
  if (address.startsWith('127.')) return address;
  return address.includes(':') && !address.startsWith('::ffff:') ? '::1' : '127.0.0.1';
}

// --- Scanning ---

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

// --- HTTP probe ---

const PROBE_TIMEOUT_MS = 500;
const PROBE_MAX_BYTES = 16 * 1024;

/**
 * Sends `GET /` and reads at most 16 KiB for at most 500 ms: enough for the status line and, on most
 * pages, the <title>. Undefined when nothing answered HTTP (closed port, another protocol, silence).
 */
export function probeHttp(port: number, host = '127.0.0.1'): Promise<HttpProbe | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const socket = net.connect({ port, host });
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseHttpResponseStart(Buffer.concat(chunks).toString('utf8')));
    };
    const timer = setTimeout(finish, PROBE_TIMEOUT_MS);
    const hostHeader = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    socket.once('connect', () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${hostHeader}\r\nAccept: text/html\r\nUser-Agent: porthole-port-probe\r\nConnection: close\r\n\r\n`,
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= PROBE_MAX_BYTES || /<\/title/i.test(chunk.toString('latin1'))) finish();
    });
    socket.once('end', finish);
    socket.once('error', finish);
  });
}

/** Probes the given ports side by side and returns them with `http` set where they answered HTTP. */
export async function labelHttp(ports: ListeningPort[]): Promise<ListeningPort[]> {
  return Promise.all(
    ports.map(async (port) => {
      const http = await probeHttp(port.port, port.host);
      return http ? { ...port, http } : port;
    }),
  );
}
