/**
 * What went wrong on one connection and cost that connection (or one stream of it) alone: an agent
 * that broke the protocol, or an exception caught at one of the relay's listeners. Each is logged
 * with where it happened and counted in /_porthole/metrics; the relay serves on.
 */
import type { Log } from './log.js';
import { peerLog } from './logThrottle.js';
import type { Metrics } from './metrics.js';
import { ProtocolError } from '../core/protocol.js';
import { routeHost } from './routing.js';
import { requestAuthority, type PublicRequest } from './http2.js';

/** Where on the relay it happened, for the log line. */
export interface FaultScene {
  tunnel?: string;
  stream?: number;
  remote?: string;
  url?: string;
}

export type ReportFault = (error: unknown, where: FaultScene) => void;

/**
 * Logs and counts faults. A protocol error is the agent's doing, and it may do it at will: its lines
 * are written at most once a minute per address (logThrottle.ts). An exception is a bug of ours:
 * every one is written, with its stack.
 */
export function faultReporter(log: Log, metrics: Metrics): ReportFault {
  const agentLog = peerLog(log);
  return (error, where) => {
    const protocol = error instanceof ProtocolError;
    metrics.faults[protocol ? 'protocol' : 'exception']++;
    const message = error instanceof Error ? error.message : String(error);
    if (protocol) return agentLog('agent.protocol-error', where.remote, { ...where, error: message });
    log('relay.exception', { ...where, error: message, stack: error instanceof Error ? error.stack : undefined });
  };
}

/** A listener for public requests, wrapped so that an exception in it costs its own connection alone (`cut`). */
export type RequestGuard = <A extends [PublicRequest, ...unknown[]]>(
  listener: (...args: A) => void,
  cut: (...args: A) => void,
) => (...args: A) => void;

/**
 * Wraps the listeners for public requests: an exception in one cuts that request's connection
 * (`cut`), is reported with the tunnel its Host names, and the relay serves on. Once a request has a
 * tunnel stream, the stream guards what follows (core/stream.ts).
 */
export function requestGuard(report: ReportFault, domain: string): RequestGuard {
  return (listener, cut) =>
    (...args) => {
      try {
        listener(...args);
      } catch (error) {
        const [req] = args;
        const route = routeHost(requestAuthority(req), domain);
        report(error, { tunnel: route.kind === 'tunnel' ? route.name : undefined, remote: req.socket.remoteAddress, url: req.url });
        cut(...args);
      }
    };
}
