/**
 * The relay's door for agents: HELLO within a deadline, protocol version, token, a name from the
 * registry, then WELCOME. Also token rotation: tunnels of a token that is no longer listed are closed.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Log } from './log.js';
import type { Metrics } from './metrics.js';
import {
  CloseCode,
  FrameType,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeJson,
  type Frame,
  type Hello,
  type Refusal,
  type Welcome,
} from '../core/protocol.js';
import { checkHello } from '../core/controlChecks.js';
import type { Claim, Deferral, NameClaims, Registration, Registry } from './registry.js';
import type { ReportFault } from './faults.js';
import { Tunnel } from '../core/tunnel.js';
import type { Clock } from '../core/clock.js';
import { safeEqual } from './secrets.js';
import { accessRules, summarize } from './access.js';
import { peerLog, type PeerLog } from './logThrottle.js';
import { privateLink } from '../core/access.js';
import { VERSION } from '../core/version.js';

/** An agent that has not said HELLO by then is disconnected. */
const HELLO_TIMEOUT_MS = 10_000;

export interface AgentGateOptions {
  registry: Registry;
  /** Who decides claims: the registry itself, or the cluster in front of it. */
  claims: NameClaims;
  metrics: Metrics;
  log: Log;
  heartbeatMs: number;
  /** --max-frame-size: the largest DATA payload agents may send. */
  maxFramePayload: number;
  /** An agent registered on the connection of `req` (the relay then stops counting it against its address). */
  registered(req: IncomingMessage): void;
  clock: Clock;
  tunnelUrl(subdomain: string): string;
  /** Logs and counts what went wrong on one agent's connection. */
  fault: ReportFault;
}

export class AgentGate {
  private tokens: Buffer[];
  /** Lines about agents that never registered: anyone can cause them, as often as they connect. */
  private readonly strangers: PeerLog;

  constructor(
    tokens: string[],
    private readonly options: AgentGateOptions,
  ) {
    this.tokens = tokens.map((t) => Buffer.from(t));
    this.strangers = peerLog(options.log, () => options.clock.now());
  }

  /** Takes over a fresh agent WebSocket. */
  accept(ws: WebSocket, req: IncomingMessage): void {
    const { registry, metrics, log, tunnelUrl, heartbeatMs, maxFramePayload, registered, clock } = this.options;
    const remote = req.socket.remoteAddress;
    let registration: Registration | undefined;
    let greeted = false;
    /** Set once a line said why this agent got no tunnel (refused, deferred, a protocol error). */
    let explained = false;
    /** Set once the connection ended, for a claim the cluster decides after that. */
    let ended: { clean: boolean } | undefined;
    const tunnel = new Tunnel(
      ws,
      {
        control: (frame) => onControl(frame),
        fault: (error, stream) => {
          explained = true;
          this.options.fault(error, { tunnel: registration?.subdomain, stream, remote });
        },
        closed: (code, reason) => {
          clock.cancel(helloTimer);
          // A revoked token's name is not kept for an agent that can no longer come back.
          const clean = code === CloseCode.normal || code === CloseCode.refused;
          ended = { clean };
          if (!registration) {
            // Gone before a tunnel and nothing said why (no HELLO in time, an oversized message, a hang-up): say it here.
            if (!explained) this.strangers('agent.rejected', remote, { code, reason: reason || undefined, greeted });
            return;
          }
          registry.disconnected(registration, tunnel, clean);
          log('agent.disconnected', { tunnel: registration.subdomain, code, reason: reason || undefined, clean, remote });
        },
      },
      { masking: 'none', receiveFrameLimit: this.options.maxFramePayload, clock },
    );
    tunnel.startHeartbeat(this.options.heartbeatMs);
    const helloTimer = clock.after(HELLO_TIMEOUT_MS, () =>
      tunnel.close(CloseCode.protocolError, `no HELLO within ${HELLO_TIMEOUT_MS / 1000} s`),
    );

    const refuse = (refusal: Refusal) => {
      metrics.refusedAgents++;
      explained = true;
      this.strangers('agent.refused', remote, { code: refusal.code, reason: refusal.message });
      tunnel.sendControl(FrameType.Refuse, refusal);
      tunnel.close(CloseCode.refused, refusal.code);
    };

    const onControl = (frame: Frame): void => {
      if (frame.type !== FrameType.Hello || greeted) {
        throw new ProtocolError(greeted ? `unexpected frame type ${frame.type} on stream 0` : 'the first frame must be HELLO');
      }
      greeted = true;
      clock.cancel(helloTimer);
      const hello = checkHello(decodeJson<Hello>(frame, 'HELLO'));
      if (hello.protocol !== PROTOCOL_VERSION) {
        const update =
          hello.protocol > PROTOCOL_VERSION
            ? 'Update the relay (the newer agent speaks a protocol it does not know yet), or use an older agent.'
            : `Update this agent to Porthole ${VERSION}: the VS Code extension from the newer .vsix, the porthole command with git pull && npm install in its clone, or npm install -g ./porthole-tunnel-${VERSION}.tgz.`;
        return refuse({
          code: 'version',
          message: `This agent speaks Porthole protocol ${hello.protocol} but the relay (Porthole ${VERSION}) speaks ${PROTOCOL_VERSION}. ${update}`,
        });
      }
      if (!this.admits(hello.token)) {
        return refuse({
          code: 'token',
          message: hello.token
            ? 'The relay rejected this token: check it with the relay operator.'
            : 'This relay needs a token: ask its operator for one.',
        });
      }
      const checked = accessRules(hello);
      if (checked && 'error' in checked) return refuse({ code: 'access', message: checked.error });
      const access = checked;
      const claim = this.options.claims.claim(hello, hello.token ?? 'anonymous', tunnel, access);
      if (claim instanceof Promise) {
        claim
          .then(welcome, (error: Error) => {
            explained = true;
            log('agent.claim-failed', { subdomain: hello.subdomain, error: error.message, remote });
            tunnel.close(CloseCode.tryAgain, 'the relay could not decide on the name; try again');
          })
          // Out of the WebSocket's listener, nothing else would catch it: a rejection left alone ends the process.
          .catch((error: unknown) => {
            this.options.fault(error, { tunnel: registration?.subdomain, remote });
            tunnel.close(CloseCode.internalError, 'internal error while welcoming the agent');
          });
      } else welcome(claim);

      function welcome(claim: Claim | Deferral): void {
        if (!claim.ok) {
          if ('refusal' in claim) return refuse(claim.refusal);
          explained = true;
          log('agent.deferred', { subdomain: hello.subdomain, why: claim.retry, remote });
          return tunnel.close(CloseCode.tryAgain, claim.retry);
        }
        registration = claim.registration;
        claim.replaced?.close(CloseCode.replaced, 'replaced by a newer connection of the same agent');
        // The agent went away while the cluster decided: the name waits for it as after any drop.
        if (ended) return registry.disconnected(registration, tunnel, ended.clean);
        metrics.agentConnections++;
        registered(req);
        if (claim.resumed) metrics.agentReconnects++;
        const url = tunnelUrl(registration.subdomain);
        const answer: Welcome = {
          url,
          subdomain: registration.subdomain,
          resume: registration.resume,
          heartbeat: heartbeatMs / 1000,
          maxFrame: maxFramePayload,
          access: summarize(access),
        };
        if (hello.access?.linkKey) answer.link = privateLink(url, hello.access.linkKey);
        tunnel.sendControl(FrameType.Welcome, answer);
        // The summary names the rules, never a key, password or the allow-list itself.
        const rules = Object.entries(answer.access ?? {}).filter(([, on]) => on);
        log('agent.connected', {
          tunnel: registration.subdomain,
          agent: hello.agent,
          resumed: claim.resumed,
          remote,
          auth: Boolean(hello.basicAuth),
          access: rules.map(([rule, value]) => (typeof value === 'number' ? `${rule}:${value}` : rule)).join(',') || 'public',
        });
      }
    };
  }

  /** Replaces the agent tokens and closes tunnels whose token is gone; returns how many. */
  setTokens(next: string[]): number {
    this.tokens = next.map((t) => Buffer.from(t));
    if (this.tokens.length === 0) return 0;
    let closed = 0;
    for (const registration of [...this.options.registry.registrations()]) {
      if (!registration.tunnel || this.admits(registration.owner)) continue;
      registration.tunnel.sendControl(FrameType.Refuse, {
        code: 'token',
        message: 'The relay operator revoked the token of this tunnel: ask them for a new one.',
      } satisfies Refusal);
      registration.tunnel.close(CloseCode.refused, 'token revoked');
      this.options.log('agent.revoked', { tunnel: registration.subdomain });
      closed++;
    }
    return closed;
  }

  /** No tokens configured (loopback only): everyone is admitted. */
  private admits(token: string | undefined): boolean {
    return this.tokens.length === 0 || (typeof token === 'string' && this.tokens.some((t) => safeEqual(Buffer.from(token), t)));
  }
}
