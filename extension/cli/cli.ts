/** `porthole share <port|url>`: the agent on the command line, printing the URL and one line per request. */
import v8 from 'node:v8';
import { startEmbeddedRelay } from '../../relay/embedded.js';
import type { Relay } from '../../relay/server.js';
import { LINK_KEY_PARAM, privateLink } from '../../core/access.js';
import { VERSION } from '../../core/version.js';
import { Agent, type AgentState } from '../agent/agent.js';
import { AgentError, type AgentErrorCode } from '../agent/relayConnection.js';
import { HarLog } from './harLog.js';
import { output, requestFields, requestLine, type Output } from './output.js';
import { USAGE, USAGE_HINT, UsageError, parseShareArgs, type ShareOptions } from './usage.js';

/** What to do about a refusal, in the CLI's terms: the relay's message says what happened. */
const HINTS: Partial<Record<AgentErrorCode, string>> = {
  token: "Pass the relay's agent token with --token T (or PORTHOLE_TOKEN).",
  taken: 'Choose another name with --subdomain, or stop the tunnel that holds it.',
  'invalid-name': 'Choose another name with --subdomain.',
};

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
  const options = parseShareArgs(argv, process.env);
  const say = output(options.json);
  const har = options.har === undefined ? undefined : new HarLog(options.har);
  const relay = options.relay === undefined ? await embeddedRelay(say) : undefined;
  const relayUrl = options.relay ?? relay?.url ?? '';
  const agent = new Agent({
    target: options.target.input,
    relay: relayUrl,
    subdomain: options.subdomain,
    token: options.token,
    hostHeader: options.hostHeader,
    insecureTarget: options.insecure,
    basicAuth: options.basicAuth,
    access: options.access,
    compress: options.compress,
    captureBytes: har ? options.captureBytes : 0, // request lines show no bodies: keep none unless a HAR wants them
  });
  if (har) {
    // The URL stays the same across reconnects; a request can complete while the tunnel is down.
    let publicUrl = '';
    agent.on('state', (state) => {
      if (state.status === 'live') publicUrl = state.url;
    });
    agent.on('request', (record) => har.add(record, publicUrl));
  }
  if (!options.quiet) agent.on('request', (r) => say('request', requestFields(r), () => requestLine(r)));
  // Warnings repeat what the states below say; an error is an agent bug to report, which must not vanish.
  agent.on('log', (level, message) => {
    if (level === 'error') process.stderr.write(`porthole: ${message}\n`);
  });
  agent.on('state', (state) => report(state, say, agent, options, relay));

  const failed = (error: AgentError): void => {
    say('error', { code: error.code, message: error.message });
    const hint = HINTS[error.code];
    process.stderr.write(`porthole: ${error.message}\n${hint ? `${hint}\n` : ''}`);
  };
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await agent.stop();
    await relay?.close(0);
    const wrote = await har?.write(say);
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
    if (stopping) return 0;
    failed(error);
    await relay?.close(0);
    return 1;
  }
  const error = await new Promise<AgentError>((resolve) =>
    agent.on('state', (state) => {
      if (state.status === 'failed') resolve(state.error);
    }),
  );
  failed(error);
  await relay?.close(0);
  await har?.write(say);
  return 1;
}

/** Prints a state change: retries before the first success, reconnects after it, and the URL whenever live. */
function report(state: AgentState, say: Output, agent: Agent, options: ShareOptions, relay?: Relay): void {
  if (state.status === 'connecting' && state.retry) {
    const { at, reason } = state.retry;
    say(
      'connecting',
      { attempt: state.attempt, reason, retryInMs: Math.max(0, at - Date.now()) },
      `Connecting to ${agent.relayUrl.host}: attempt ${state.attempt} failed (${reason}); next try in ${seconds(at)}`,
    );
  } else if (state.status === 'reconnecting') {
    say(
      'reconnecting',
      { attempt: state.attempt, reason: state.reason, retryInMs: Math.max(0, state.retryAt - Date.now()) },
      `Reconnecting (${state.reason}); next try in ${seconds(state.retryAt)}`,
    );
  } else if (state.status === 'live') {
    // A target typed with a path (http://localhost:3000/app) shares the whole server; the path is where its links open.
    const path = options.target.path;
    const open = `${state.url}${path}`;
    const key = state.link && new URL(state.link).searchParams.get(LINK_KEY_PARAM);
    const link = key ? privateLink(open, key) : state.link;
    const local = agent.target.origin;
    say(
      'ready',
      { url: state.url, open, link, target: local, relay: options.relay ?? relay?.url },
      [
        `Porthole ${VERSION}  ${open}  →  ${local}${path}`,
        path ? `(the whole server at ${local} is shared; the URL above opens ${path})` : '',
        link ? `Private link (give it to the people you invite): ${link}` : '',
        relay ? `(embedded relay at ${relay.url}; for others to reach you, see “Use your own relay” in the README)` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }
}

function seconds(at: number): string {
  return `${(Math.max(0, at - Date.now()) / 1000).toFixed(1)} s`;
}

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

async function main(): Promise<number> {
  deferWasmTierUp();
  const [command, ...rest] = process.argv.slice(2);
  if (command === '--version' || command === '-v' || rest.includes('--version')) {
    console.log(VERSION);
    return 0;
  }
  if (command === '--help' || command === '-h' || rest.includes('--help') || rest.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (command === undefined) {
    // Nothing asked: the usage on stderr and 2, as for any incomplete command line.
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (command !== 'share')
    throw new UsageError(`Unknown command "${command}". Porthole has one: porthole share <port|url>. (The relay runs with: node relay.)`);
  return share(rest);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    const usage = error instanceof UsageError;
    process.stderr.write(`porthole: ${error.message}\n${usage ? `${USAGE_HINT}\n` : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
