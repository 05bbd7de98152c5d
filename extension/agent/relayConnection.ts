/**
 * The agent's side of reaching a relay: the WebSocket URL, whether frames need masking, and what
 * each way a connection can end means for the next try. The rule for the last: retry what time can
 * fix (a relay that is down, busy or restarting, a lost network), stop at once on what it cannot
 * (a certificate this machine does not trust, a URL that is not a Porthole relay), and never count
 * the times a relay said "try again later" as failures. Once a tunnel has been live, everything but
 * a refusal is retried: the relay is known to be right, so its trouble is passing.
 */
import { reachesThisMachine } from '../../core/addresses.js';
import { CONNECT_PATH, CloseCode, type Refusal } from '../../core/protocol.js';

export type AgentErrorCode = Refusal['code'] | 'unreachable' | 'certificate';

/** Why the agent stopped for good; `message` is written for a person. */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(
    readonly code: AgentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** How a connection to the relay ended, as far as the agent could tell. */
export interface Ending {
  /** The WebSocket close code (1006 when the connection dropped or never opened). */
  code: number;
  reason: string;
  /** The socket's error, when it failed (most often before the WebSocket opened). */
  error?: Error & { code?: string };
  /** The relay's HTTP answer when it did not accept the WebSocket. */
  response?: { status: number; location?: string; retryAfter?: string };
  /** The relay announced it was going away (GOAWAY) before closing. */
  goingAway: boolean;
}

/** What to do next: try again (counted or not towards giving up), or stop. */
export type Verdict =
  | {
      retry: true;
      /** Why the connection ended, for a person: shown while waiting. */
      reason: string;
      /** Whether this try counts towards giving up before the first success. */
      counts: boolean;
      /** The relay restarts: come back within a second rather than after the backoff. */
      soon?: boolean;
      /** The relay asked for this much patience (Retry-After). */
      waitMs?: number;
    }
  | { retry: false; error: AgentError };

/** Certificate errors that mean "this machine does not trust who issued it". */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const OUT_OF_DATE = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
/** Where the README explains how an agent trusts a relay's own CA. */
const TRUST_SECTION = 'README, “Trusting the relay’s certificate”';

/**
 * Judges an ending. `relay` is the relay as the user gave it; `everLive` is whether a tunnel through
 * it ever came up (then only a refusal stops the agent, elsewhere).
 */
export function judge(ending: Ending, relay: string, relayUrl: URL, everLive: boolean): Verdict {
  const verdict = judgeEnding(ending, relay, relayUrl);
  if (!verdict.retry && everLive) return { retry: true, reason: verdict.error.message, counts: true };
  return verdict;
}

function judgeEnding({ code, reason, error, response, goingAway }: Ending, relay: string, relayUrl: URL): Verdict {
  if (response) return judgeResponse(response, relay, relayUrl);
  if (error?.code) {
    const verdict = judgeError(error as Error & { code: string }, relay, relayUrl);
    if (verdict) return verdict;
  }
  if (error) return { retry: true, reason: error.message, counts: true };
  if (goingAway || code === CloseCode.goingAway)
    return { retry: true, reason: goingAway ? 'the relay restarted' : 'the relay is shutting down', counts: false, soon: true };
  switch (code) {
    case CloseCode.tryAgain:
      return { retry: true, reason: `the relay said to try again later${reason ? `: ${reason}` : ''}`, counts: false };
    case CloseCode.refused:
      return {
        retry: false,
        error: new AgentError('unreachable', `The relay at ${relay} refused this agent (${reason || 'no reason given'}).`),
      };
    case CloseCode.heartbeatTimeout:
      return { retry: true, reason: 'the relay stopped answering heartbeats', counts: true };
    case CloseCode.protocolError:
      return { retry: true, reason: `protocol error: ${reason}`, counts: true };
    case CloseCode.internalError:
      return { retry: true, reason: `the relay hit an internal error${reason ? ` (${reason})` : ''}`, counts: true };
    case 1009:
      return { retry: true, reason: 'a message was larger than the relay accepts (code 1009); update Porthole on both ends', counts: true };
    case 1006:
      return { retry: true, reason: 'the connection dropped', counts: true };
    default:
      return { retry: true, reason: reason ? `${reason} (code ${code})` : `connection closed (code ${code})`, counts: true };
  }
}

function judgeResponse(response: NonNullable<Ending['response']>, relay: string, relayUrl: URL): Verdict {
  const { status } = response;
  if (status >= 300 && status < 400) {
    const https = relayUrl.protocol === 'ws:' ? originOf(response.location, 'https:') : undefined;
    const message = https
      ? `The relay at ${relay} serves HTTPS only: use ${https} as the relay URL.`
      : `The relay at ${relay} answered with a redirect (HTTP ${status}${response.location ? ` to ${response.location.slice(0, 200)}` : ''}) instead of accepting the agent. Use the relay's own URL.`;
    return { retry: false, error: new AgentError('unreachable', message) };
  }
  if (status === 429 || status === 503) {
    const seconds = Number(response.retryAfter);
    return {
      retry: true,
      reason: `the relay is ${status === 429 ? 'holding too many connections from this address' : 'full or restarting'} (HTTP ${status})`,
      counts: false,
      waitMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined,
    };
  }
  // A proxy in front of the relay that cannot reach it, or a timeout on the way: the relay is down.
  if (status === 502 || status === 504 || status === 408)
    return { retry: true, reason: `a proxy in front of the relay answered HTTP ${status}`, counts: true };
  return {
    retry: false,
    error: new AgentError(
      'unreachable',
      `${relay} answered HTTP ${status} instead of accepting the agent: is it a Porthole relay? Check the relay URL.`,
    ),
  };
}

function judgeError(error: Error & { code: string }, relay: string, relayUrl: URL): Verdict | undefined {
  const { code } = error;
  const certificate = (problem: string, advice: string): Verdict => ({
    retry: false,
    error: new AgentError('certificate', `The relay's TLS certificate ${problem} (${code}), so nothing was shared. ${advice}`),
  });
  if (UNTRUSTED.has(code)) {
    return certificate(
      'is not trusted by this machine',
      `If the relay uses a self-signed certificate or a company CA, give Node that CA's certificate: start with NODE_EXTRA_CA_CERTS=/path/to/ca.pem set (${TRUST_SECTION}).`,
    );
  }
  if (OUT_OF_DATE.has(code))
    return certificate(
      code === 'CERT_HAS_EXPIRED' ? 'has expired' : 'is not valid yet',
      "Tell the relay's operator (or check this machine's clock).",
    );
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return certificate(
      `is for other names than ${relayUrl.hostname}`,
      'Check the relay URL: it must be the name the certificate was made for.',
    );
  if (code === 'EPROTO' && /wrong version number/i.test(error.message)) {
    const plain = `http://${relayUrl.host}`;
    return {
      retry: false,
      error: new AgentError('unreachable', `The relay at ${relay} does not speak TLS on that port: use ${plain} as the relay URL.`),
    };
  }
  if (code === 'ENOTFOUND')
    return {
      retry: false,
      error: new AgentError('unreachable', `The relay's host name ${relayUrl.hostname} does not resolve. Check the relay URL.`),
    };
  const passing = PASSING[code];
  return passing ? { retry: true, reason: passing(relayUrl.host), counts: true } : undefined;
}

/** Network trouble that time may mend, in words. */
const PASSING: Record<string, (host: string) => string> = {
  ECONNREFUSED: (host) => `${host} refused the connection`,
  ECONNRESET: (host) => `the connection to ${host} was reset`,
  ETIMEDOUT: (host) => `the connection to ${host} timed out`,
  EHOSTUNREACH: (host) => `${host} cannot be reached from this network`,
  ENETUNREACH: (host) => `${host} cannot be reached from this network`,
  EAI_AGAIN: (host) => `the name in ${host} could not be looked up just now`,
};

/** The message when the relay could not be reached before the first success, after `attempts` tries. */
export function unreachable(relay: string, relayUrl: URL, attempts: number, reason: string): AgentError {
  const https = relayUrl.protocol === 'ws:' ? ' (https:// if it serves HTTPS)' : '';
  return new AgentError(
    'unreachable',
    `Could not reach the relay at ${relay} after ${attempts} attempts: ${reason}. Check the relay URL${https} and that the relay is running.`,
  );
}

/** The WebSocket URL for a relay given as http(s):// or ws(s)://, with or without a path. */
export function relayEndpoint(relay: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//i.test(relay) ? relay : `http://${relay}`);
  } catch {
    throw new AgentError('unreachable', `"${relay}" is not a relay URL. Use one like https://example.dev or http://localhost:8080.`);
  }
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol))
    throw new AgentError('unreachable', `The relay URL must start with http://, https://, ws:// or wss://, not ${url.protocol}//.`);
  return new URL(`${secure ? 'wss' : 'ws'}://${url.host}${CONNECT_PATH}`);
}

/**
 * RFC 6455 masks client frames so that a transparent proxy on the path cannot be tricked into
 * caching attacker-chosen bytes. Inside TLS, or on this machine, no such proxy can read the frames,
 * and masking is a third of the agent's and relay's CPU on bulk transfers (ws skips a zero mask).
 */
export function maskingNeeded(url: URL): boolean {
  return url.protocol === 'ws:' && !reachesThisMachine(url.hostname);
}

/** ws's mask generator for frames that need no mask. */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

/** Why nothing was shared through a relay that cannot enforce the share's access rules. */
export function olderRelay(relay: string): string {
  return `The relay at ${relay} is older than this agent and cannot enforce a private link, an IP allow-list or open paths, so nothing was shared. Update the relay, or share without those rules.`;
}

/** The origin of `location` when it is a URL with `protocol`; a relay's Location header is the relay's text, not a promise. */
function originOf(location: string | undefined, protocol: string): string | undefined {
  const url = location && URL.canParse(location) ? new URL(location) : undefined;
  return url?.protocol === protocol ? url.origin : undefined;
}
