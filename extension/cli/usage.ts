/**
 * The command line of `porthole share`: its usage text, and its arguments read into options, with
 * every mistake caught here as a UsageError (exit 2) before anything connects.
 */
import { parseArgs } from 'node:util';
import { parsePolicy } from '../../core/access.js';
import { formatBytes } from '../../core/text.js';
import { DEFAULT_HTTP_PORT } from '../../relay/config.js';
import type { AccessChoice } from '../agent/accessChoice.js';
import { relayEndpoint } from '../agent/relayConnection.js';
import { DEFAULT_CAPTURE_BYTES, MAX_CAPTURE_BYTES } from '../agent/requestRecord.js';
import { parseTarget, type Target } from '../agent/target.js';
import { DEFAULT_MAX_ENTRIES } from '../requestLog/requestLog.js';

export const USAGE = `Usage: porthole share <port|url> [options]

Shares a local server through a Porthole relay. Without --relay, starts a relay in this process on
http://*.localhost:${DEFAULT_HTTP_PORT}, so you can try everything on one machine.

  --relay URL             the relay, e.g. https://example.dev        (PORTHOLE_RELAY)
  --subdomain NAME        the name to ask for; a random one otherwise
  --token T               the relay's agent token                    (PORTHOLE_TOKEN)
  --auth USER:PASSWORD    ask public visitors for these (HTTP Basic)
  --private               only visitors who open the private link (printed, and "link" in --json) get in
  --allow-ip CIDR         only visitors from this range, e.g. 203.0.113.0/24 or 2001:db8::/32 (repeatable)
  --public-path GLOB      a path anyone may reach past --auth, --private and --allow-ip, e.g. /webhooks/* (repeatable)
  --host-header MODE      rewrite (default: Host becomes the local target) or preserve
  --insecure              accept a self-signed certificate from an https:// target
  --no-compress           send responses as the local server sent them (default: text-like ones
                          compressed with br or gzip for visitors that accept it)
  --json                  print JSON lines: {"event":"ready","url":…}, {"event":"request",…} (see the README)
  --quiet                 print the URL only, no request lines
  --har FILE              on stopping, write the last ${DEFAULT_MAX_ENTRIES} requests as HAR 1.2
  --capture-bytes N       how much of each body --har keeps: bytes, or 64k, 2m (default ${formatBytes(DEFAULT_CAPTURE_BYTES)}, at most ${formatBytes(MAX_CAPTURE_BYTES)})
  --help, --version

Exit status: 0 after Ctrl+C or SIGTERM, 1 when sharing fails (the relay refused, or cannot be
reached), 2 for a mistake on the command line.`;

/** Printed under a usage error instead of the whole usage. */
export const USAGE_HINT = 'Run "porthole share --help" for the options.';

/** A mistake on the command line: the CLI prints the message and USAGE_HINT, and exits 2. */
export class UsageError extends Error {}

export interface ShareOptions {
  target: Target;
  /** The relay URL given, or undefined for the embedded relay. */
  relay?: string;
  subdomain?: string;
  token?: string;
  basicAuth?: string;
  access: AccessChoice;
  hostHeader: 'rewrite' | 'preserve';
  insecure: boolean;
  compress: boolean;
  json: boolean;
  quiet: boolean;
  har?: string;
  captureBytes: number;
}

/** Reads `porthole share`'s arguments (after `share`) and the environment; throws a UsageError for a person. */
export function parseShareArgs(argv: string[], env: NodeJS.ProcessEnv): ShareOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('Give exactly one port or URL to share, e.g. porthole share 5173.');
  const target = parseTarget(positionals[0]);
  if ('error' in target) throw new UsageError(target.error);
  const hostHeader = values['host-header'] ?? 'rewrite';
  if (hostHeader !== 'rewrite' && hostHeader !== 'preserve')
    throw new UsageError(`--host-header must be rewrite or preserve, not "${hostHeader}".`);
  if (values.auth !== undefined && !/^[^:]+:.+$/.test(values.auth))
    throw new UsageError('--auth takes USER:PASSWORD, e.g. --auth demo:s3cret.');
  const access = { privateLink: values.private, allowIps: values['allow-ip'], openPaths: values['public-path'] };
  if (access.openPaths && !values.auth && !access.privateLink && !access.allowIps)
    throw new UsageError(
      '--public-path opens paths of a protected share: add --private, --allow-ip or --auth (without them every path is open).',
    );
  const rules = parsePolicy({ allowIps: access.allowIps, openPaths: access.openPaths });
  if ('error' in rules) throw new UsageError(rules.error);
  const relay = values.relay ?? env.PORTHOLE_RELAY;
  if (relay !== undefined) checkRelay(relay);
  if (values['capture-bytes'] !== undefined && values.har === undefined)
    throw new UsageError('--capture-bytes sets how much of each body --har keeps: add --har FILE.');
  return {
    target,
    relay,
    subdomain: values.subdomain,
    token: values.token ?? env.PORTHOLE_TOKEN,
    basicAuth: values.auth,
    access,
    hostHeader,
    insecure: values.insecure ?? false,
    compress: !values['no-compress'],
    json: values.json ?? false,
    quiet: values.quiet ?? false,
    har: values.har,
    captureBytes: values['capture-bytes'] === undefined ? DEFAULT_CAPTURE_BYTES : byteSize(values['capture-bytes']),
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      relay: { type: 'string' },
      subdomain: { type: 'string' },
      token: { type: 'string' },
      auth: { type: 'string' },
      private: { type: 'boolean' },
      'allow-ip': { type: 'string', multiple: true },
      'public-path': { type: 'string', multiple: true },
      'host-header': { type: 'string' },
      insecure: { type: 'boolean' },
      'no-compress': { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean' },
      har: { type: 'string' },
      'capture-bytes': { type: 'string' },
    },
  });
}

function checkRelay(relay: string): void {
  try {
    relayEndpoint(relay);
  } catch (error) {
    throw new UsageError(`--relay: ${(error as Error).message}`);
  }
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 * 1024 };

/** `262144`, `256k`, `256KiB`, `2m`, `2MiB` as bytes, within what a capture may keep. */
function byteSize(text: string): number {
  const match = /^(\d+)\s*(?:([km])(?:i?b)?|b)?$/i.exec(text.trim());
  const bytes = match ? Number(match[1]) * UNITS[(match[2] ?? '').toLowerCase()] : Number.NaN;
  if (!(bytes <= MAX_CAPTURE_BYTES))
    throw new UsageError(
      `--capture-bytes takes a size from 0 to ${formatBytes(MAX_CAPTURE_BYTES)}, in bytes or as 64k or 2m, not "${text}".`,
    );
  return bytes;
}
