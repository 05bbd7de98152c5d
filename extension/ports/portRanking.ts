/**
 * Which listening ports are likely dev servers: each listener's category from its process, its
 * command line and its port, and the order a person wants them in, dev servers first. Pure, so the
 * rules are a table of tests.
 */
import { mergeListeners, type HttpProbe, type Listener } from './portParsers.js';

/** Hidden by default: 'vscode' (VS Code's own servers) and 'system' (daemons, databases, ports below 1024). */
export type PortCategory = 'dev-server' | 'other' | 'vscode' | 'system';

export interface ListeningPort extends Listener {
  category: PortCategory;
  /** The loopback address to connect to from this machine: '127.0.0.1' or '::1'. */
  host: string;
  /** Set by labelHttp: the port answered HTTP. */
  http?: HttpProbe;
}

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
