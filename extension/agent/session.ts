/**
 * One connection of the agent to the relay, from the WebSocket's opening to its close: HELLO, what
 * stream 0 says back (WELCOME, REFUSE, GOAWAY), and the streams the relay opens once the tunnel is
 * live. The agent (agent.ts) opens one session after another and decides from each one's outcome
 * what comes next (relayConnection.ts judges it).
 */
import WebSocket from 'ws';
import { checkRefusal, checkWelcome } from '../../core/controlChecks.js';
import type { Clock, Timer } from '../../core/clock.js';
import {
  CloseCode,
  FrameType,
  MAX_MESSAGE_BYTES,
  ProtocolError,
  decodeJson,
  type Frame,
  type Hello,
  type Refusal,
  type RequestHead,
  type Welcome,
} from '../../core/protocol.js';
import type { TunnelStream } from '../../core/stream.js';
import { Tunnel } from '../../core/tunnel.js';
import { VERSION } from '../../core/version.js';
import { type Ending, maskingNeeded, olderRelay, zeroMask } from './relayConnection.js';

/** A relay that accepts the socket but never answers HELLO would leave the agent connecting forever. */
const WELCOME_TIMEOUT_MS = 10_000;

export interface SessionOptions {
  /** The relay's WebSocket endpoint (relayEndpoint). */
  endpoint: URL;
  /** The relay as the user gave it, for the sentences they read. */
  relay: string;
  /** Sent as soon as the WebSocket opens; with `access`, WELCOME must confirm the rules. */
  hello: Hello;
  /** Drives the wait for WELCOME and the heartbeats. */
  clock: Clock;
}

/** How a session ended: the relay refused the agent, or the connection ended in a way to judge. */
export type SessionOutcome = { refusal: Refusal } | { ending: Ending };

export interface SessionEvents {
  /** WELCOME came, and confirmed the access rules HELLO asked for: the tunnel is live. */
  welcomed(welcome: Welcome): void;
  /** The relay opened a stream on the live tunnel. */
  open(stream: TunnelStream, head: RequestHead): void;
  /** An exception in this process while handling a frame: a bug to report, with its stack. */
  internalError(message: string): void;
  /** The connection is over; called once. */
  closed(outcome: SessionOutcome): void;
}

/** Opens a WebSocket to the relay and says HELLO; the tunnel it returns serves nothing until WELCOME. */
export function openSession(options: SessionOptions, events: SessionEvents): Tunnel {
  const { endpoint, relay, hello, clock } = options;
  const masking = maskingNeeded(endpoint) ? 'random-key' : 'zero-key';
  const ws = new WebSocket(endpoint, {
    perMessageDeflate: false,
    maxPayload: MAX_MESSAGE_BYTES,
    handshakeTimeout: 10_000,
    headers: { 'user-agent': `porthole-agent/${VERSION}` },
    ...(masking === 'zero-key' ? { generateMask: zeroMask } : {}),
  });
  let refusal: Refusal | undefined;
  let welcomed = false;
  let goingAway = false;
  /** Streams are served only once WELCOME came and, for a share with access rules, confirmed them. */
  let serving = false;
  let socketError: Ending['error'];
  let response: Ending['response'];
  let welcomeTimer: Timer | undefined;
  const tunnel = new Tunnel(
    ws,
    {
      control: (frame: Frame) => {
        if (frame.type === FrameType.Welcome && !welcomed && !refusal) {
          const welcome = checkWelcome(decodeJson<Welcome>(frame, 'WELCOME'));
          clock.cancel(welcomeTimer);
          welcomed = true;
          if (hello.access && !welcome.access) {
            refusal = { code: 'version', message: olderRelay(relay) };
            return tunnel.close(CloseCode.normal, 'the relay cannot enforce the access rules');
          }
          serving = true;
          events.welcomed(welcome);
        } else if (frame.type === FrameType.Refuse && !refusal) {
          // Before WELCOME (a wrong token, a taken name) or after it (the operator revoked the token).
          refusal = checkRefusal(decodeJson<Refusal>(frame, 'REFUSE'));
          clock.cancel(welcomeTimer);
        } else if (frame.type === FrameType.GoAway) {
          goingAway = true;
        } else {
          throw new ProtocolError(`the relay sent frame type ${frame.type} on stream 0 ${welcomed ? 'after WELCOME' : 'before WELCOME'}`);
        }
      },
      // A relay that breaks the protocol is named in the reconnect message; an exception is a bug to report.
      fault: (error, stream) => {
        if (error instanceof ProtocolError) return;
        const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
        events.internalError(`Internal error${stream ? ` on stream ${stream}` : ''}, please report it: ${detail}`);
      },
      open: (stream, head) => {
        if (!serving) return stream.reset('cancelled', 'the agent serves nothing before the relay confirmed its access rules');
        events.open(stream, head);
      },
      closed: (code, reason) => {
        events.closed(refusal ? { refusal } : { ending: { code, reason, error: socketError, response, goingAway } });
      },
    },
    { masking, clock },
  );
  ws.on('error', (error) => {
    socketError ??= error;
  });
  ws.on('unexpected-response', (_req, res) => {
    const retryAfter = res.headers['retry-after'];
    response = { status: res.statusCode ?? 0, location: res.headers.location, retryAfter };
    ws.terminate();
  });
  ws.on('close', () => clock.cancel(welcomeTimer));
  ws.on('open', () => {
    welcomeTimer = clock.after(WELCOME_TIMEOUT_MS, () =>
      tunnel.close(CloseCode.protocolError, `the relay did not answer within ${WELCOME_TIMEOUT_MS / 1000} s`),
    );
    tunnel.sendControl(FrameType.Hello, hello);
  });
  return tunnel;
}
