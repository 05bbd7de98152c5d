/** `porthole share <port|url>`: the agent on the command line, printing the URL and one line per request. */
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { DEFAULT_HTTP_PORT } from '../../relay/config.js';
import { startEmbeddedRelay } from '../../relay/embedded.js';
import type { Relay } from '../../relay/server.js';
import { formatBytes } from '../../core/text.js';
import { Agent, type AgentState } from '../agent/agent.js';
import { AgentError } from '../agent/relayConnection.js';
import type { RequestRecord } from '../agent/requestRecord.js';
import { VERSION } from '../../core/version.js';
import { parsePolicy } from '../../core/access.js';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_CAPTURE_BYTES } from '../agent/requestRecord.js';
import { toHar, type HarSource } from '../requestLog/har.js';
import { DEFAULT_MAX_ENTRIES, RequestLog } from '../requestLog/requestLog.js';

const USAGE = `Usage: porthole share <port|url> [options]

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
  --json                  print JSON lines: {"event":"ready","url":…}, {"event":"request",…}
  --quiet                 print the URL only, no request lines
  --har FILE              on stopping, write the requests (the last ${DEFAULT_MAX_ENTRIES}, bodies up to ${formatBytes(DEFAULT_CAPTURE_BYTES)} each) as HAR 1.2
  --help, --version`;

/** `text` may be a function, so a line nobody will read (in --json mode) is never formatted. */
type Output = ((event: string, fields: Record<string, unknown>, text?: string | (() => string)) => void) & { flush(): void };

/**
 * Lines printed in one turn of the event loop leave in one write: under load, a system call per
 * request line cost more CPU than the agent's own work on that request.
 */
function output(json: boolean): Output {
  let pending = '';
  const flush = () => {
    if (pending) process.stdout.write(pending);
    pending = '';
  };
  const say = (event: string, fields: Record<string, unknown>, text?: string | (() => string)) => {
    const line = json ? JSON.stringify({ event, ...fields }) : typeof text === 'function' ? text() : text;
    if (line === undefined) return;
    if (!pending) setImmediate(flush);
    pending += `${line}\n`;
  };
  return Object.assign(say, { flush });
}

function requestLine(r: RequestRecord): string {
  const status = r.error ? 'ERR' : String(r.status ?? '-');
  const size = `${formatBytes(r.responseBytes).padStart(10)}${r.compression ? ` → ${formatBytes(r.compression.bytes)} ${r.compression.encoding}` : ''}`;
  return `${r.method.padEnd(7)} ${r.path.length > 60 ? `${r.path.slice(0, 59)}…` : r.path.padEnd(60)} ${status.padStart(3)} ${`${r.durationMs ?? 0} ms`.padStart(10)} ${size}${r.error ? `  ${r.error}` : ''}`;
}

async function embeddedRelay(say: Output): Promise<Relay> {
  const { relay, busyPort } = await startEmbeddedRelay(() => undefined);
  if (busyPort !== undefined) {
    say(
      'notice',
      { message: `port ${busyPort} is busy; the embedded relay uses ${relay.httpPort}` },
      `Port ${busyPort} is busy; the embedded relay listens on ${relay.httpPort} instead.`,
    );
  }
  return relay;
}

async function share(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
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
    },
  });
  if (positionals.length !== 1) throw new UsageError('Give exactly one port or URL to share, e.g. porthole share 5173.');
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
  if ('error' in rules) throw new Error(rules.error);
  const say = output(Boolean(values.json));
  const har = values.har === undefined ? undefined : harRecorder(values.har);

  const relayUrl = values.relay ?? process.env.PORTHOLE_RELAY;
  const relay = relayUrl ? undefined : await embeddedRelay(say);
  const agent = new Agent({
    target: positionals[0],
    relay: relayUrl ?? relay?.url ?? '',
    subdomain: values.subdomain,
    token: values.token ?? process.env.PORTHOLE_TOKEN,
    hostHeader,
    insecureTarget: values.insecure,
    basicAuth: values.auth,
    access,
    compress: !values['no-compress'],
    captureBytes: har ? DEFAULT_CAPTURE_BYTES : 0, // request lines show no bodies: keep none unless a HAR wants them
  });
  if (har) {
    // The URL stays the same across reconnects; a request can complete while the tunnel is down.
    let publicUrl = '';
    agent.on('state', (state) => {
      if (state.status === 'live') publicUrl = state.url;
    });
    agent.on('request', (record) => har.add({ record, baseUrl: publicUrl }));
  }
  if (!values.quiet) {
    agent.on('request', (r) =>
      say(
        'request',
        {
          id: r.id,
          method: r.method,
          path: r.path,
          status: r.status,
          durationMs: r.durationMs,
          requestBytes: r.requestBytes,
          responseBytes: r.responseBytes,
          encoding: r.compression?.encoding,
          encodedBytes: r.compression?.bytes,
          upgrade: r.upgrade || undefined,
          error: r.error,
        },
        () => requestLine(r),
      ),
    );
  }
  agent.on('state', (state: AgentState) => {
    if (state.status === 'reconnecting') {
      say(
        'reconnecting',
        { reason: state.reason, retryInMs: state.retryAt - Date.now(), attempt: state.attempt },
        `Reconnecting (${state.reason}); next try in ${((state.retryAt - Date.now()) / 1000).toFixed(1)} s`,
      );
    } else if (state.status === 'live') {
      say(
        'ready',
        { url: state.url, link: state.link, target: agent.target.origin, relay: relayUrl ?? relay?.url },
        `Porthole ${VERSION}  ${state.url}  →  ${agent.target.origin}${state.link ? `\nPrivate link (give it to the people you invite): ${state.link}` : ''}${relay ? `\n(embedded relay at ${relay.url}; for others to reach you, run a relay of your own: see the README)` : ''}`,
      );
    }
  });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await agent.stop();
    await relay?.close(0);
    const wrote = har?.write(say);
    say('stopped', {}, 'Stopped sharing.');
    say.flush();
    process.exit(wrote === false ? 1 : 0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  try {
    await agent.start();
  } catch (error) {
    if (!(error instanceof AgentError)) throw error;
    say('error', { code: error.code, message: error.message });
    process.stderr.write(`porthole: ${error.message}\n`);
    await relay?.close(0);
    return 1;
  }
  await new Promise<void>((resolve) =>
    agent.on('state', (state) => {
      if (state.status === 'failed') {
        say('error', { code: state.error.code, message: state.error.message });
        process.stderr.write(`porthole: ${state.error.message}\n`);
        resolve();
      }
    }),
  );
  await relay?.close(0);
  har?.write(say);
  return 1;
}

/**
 * Keeps what --har will write: the last DEFAULT_MAX_ENTRIES requests, each with the URL it came in
 * at, so memory stays bounded however long the share runs.
 */
function harRecorder(file: string) {
  const target = path.resolve(file);
  try {
    fs.accessSync(path.dirname(target), fs.constants.W_OK);
  } catch {
    throw new UsageError(`--har ${file}: cannot write in ${path.dirname(target)} (does the folder exist?).`);
  }
  const log = new RequestLog<HarSource>(DEFAULT_MAX_ENTRIES);
  return {
    add(source: HarSource) {
      log.add(source);
    },
    /** Writes the file; false (and a message on stderr) when it cannot. */
    write(say: Output): boolean {
      const sources = log.entries().map((entry) => entry.record);
      try {
        fs.writeFileSync(target, `${JSON.stringify(toHar(sources), null, 2)}\n`);
      } catch (error) {
        process.stderr.write(`porthole: could not write the HAR file ${target}: ${(error as Error).message}\n`);
        return false;
      }
      say(
        'har',
        { file: target, entries: sources.length },
        `Wrote ${sources.length} request${sources.length === 1 ? '' : 's'} to ${target} (HAR 1.2).`,
      );
      return true;
    },
  };
}

class UsageError extends Error {}

/**
 * undici parses HTTP with llhttp compiled to WebAssembly: one 33 KB state-machine function that V8
 * runs as Liftoff code first and, once its tiering budget is spent, recompiles with TurboFan in the
 * background (0.1–0.25 s of CPU). By default that happens after about 50 socket reads, which is the
 * first 3 MiB of a fresh agent's first download, although a body only passes through the parser
 * uncounted; head parsing is where TurboFan pays. This budget tiers it up after about 550 small
 * requests or 700 MiB of bodies, so a page load still gets it and a bulk transfer is not
 * charged for it (saves ~100 ms of the agent's CPU on a cold 100 MiB download; the same per small
 * request once warm). Set before undici compiles llhttp, at its first request. The VS Code extension
 * host is not ours to tune.
 */
function deferWasmTierUp(): void {
  v8.setFlagsFromString('--wasm-tiering-budget=1000000000');
}

async function main(): Promise<void> {
  deferWasmTierUp();
  const [command, ...rest] = process.argv.slice(2);
  if (command === '--version' || command === '-v') return void console.log(VERSION);
  if (!command || command === '--help' || command === '-h' || rest.includes('--help')) return void console.log(USAGE);
  if (command !== 'share')
    throw new UsageError(`Unknown command "${command}". Porthole has one: porthole share <port|url>. (The relay runs with: node relay.)`);
  process.exitCode = await share(rest);
}

main().catch((error: Error) => {
  const usage = error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`porthole: ${error.message}\n${usage ? `\n${USAGE}\n` : ''}`);
  process.exit(usage ? 2 : 1);
});
