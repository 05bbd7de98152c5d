/** Relay counters, exposed at /_porthole/metrics in Prometheus text format. */
import type { RefusalReason } from './connectionLimits.js';
import type { Registry } from './registry.js';

/** What the metrics read from the connection limits (relay/connectionLimits.ts). */
export interface ConnectionCounts {
  readonly open: number;
  readonly reserved: number;
  readonly options: { readonly maxConnections: number };
}

/** Why a connection was refused: at once (connectionLimits.ts), or a visitor's request on a reserve connection. */
export type ConnectionRefusal = RefusalReason | 'reserve';
/** What a connection took too long for: its TLS handshake, or a request (head, or head and body). */
export type ConnectionTimeout = 'tls_handshake' | 'request';

export class Metrics {
  private readonly requestsByClass = new Map<string, number>();
  private readonly refusedConnections: Record<ConnectionRefusal, number> = { address: 0, full: 0, reserve: 0 };
  private readonly timedOutConnections: Record<ConnectionTimeout, number> = { tls_handshake: 0, request: 0 };
  bytesIn = 0;
  bytesOut = 0;
  agentConnections = 0;
  agentReconnects = 0;
  refusedAgents = 0;
  /** Errors each confined to one connection or stream: agents breaking the protocol, and exceptions caught. */
  readonly faults = { protocol: 0, exception: 0 };

  constructor(private readonly connections?: ConnectionCounts) {}

  connectionRefused(reason: ConnectionRefusal): void {
    this.refusedConnections[reason]++;
  }

  connectionTimedOut(phase: ConnectionTimeout): void {
    this.timedOutConnections[phase]++;
  }

  request(status: number, bytesIn: number, bytesOut: number): void {
    const statusClass = status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'aborted';
    this.requestsByClass.set(statusClass, (this.requestsByClass.get(statusClass) ?? 0) + 1);
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
  }

  render(registry: Registry, certificates: { name: string; notAfter: Date }[]): string {
    let live = 0;
    let reconnecting = 0;
    for (const registration of registry.registrations()) {
      if (registration.tunnel) live++;
      else reconnecting++;
    }
    const lines = [
      '# HELP porthole_tunnels Tunnels by state.',
      '# TYPE porthole_tunnels gauge',
      `porthole_tunnels{state="live"} ${live}`,
      `porthole_tunnels{state="reconnecting"} ${reconnecting}`,
      '# HELP porthole_requests_total Public requests by status class.',
      '# TYPE porthole_requests_total counter',
      ...[...this.requestsByClass].map(([statusClass, count]) => `porthole_requests_total{class="${statusClass}"} ${count}`),
      '# HELP porthole_bytes_total Body bytes through tunnels: in = from public clients, out = to them.',
      '# TYPE porthole_bytes_total counter',
      `porthole_bytes_total{direction="in"} ${this.bytesIn}`,
      `porthole_bytes_total{direction="out"} ${this.bytesOut}`,
      '# HELP porthole_agent_connections_total Agent registrations accepted.',
      '# TYPE porthole_agent_connections_total counter',
      `porthole_agent_connections_total ${this.agentConnections}`,
      '# HELP porthole_agent_reconnects_total Agents that came back to a name they held.',
      '# TYPE porthole_agent_reconnects_total counter',
      `porthole_agent_reconnects_total ${this.agentReconnects}`,
      '# HELP porthole_agent_refusals_total Agent registrations refused (token, name, limit, version).',
      '# TYPE porthole_agent_refusals_total counter',
      `porthole_agent_refusals_total ${this.refusedAgents}`,
      ...this.connectionLines(),
      '# HELP porthole_faults_total Errors confined to one connection: protocol = an agent broke the protocol (its tunnel closed, 1002); exception = the relay failed on a request or frame (that stream or tunnel closed, 1011; the log has the details, please report it).',
      '# TYPE porthole_faults_total counter',
      `porthole_faults_total{kind="protocol"} ${this.faults.protocol}`,
      `porthole_faults_total{kind="exception"} ${this.faults.exception}`,
      '# HELP process_resident_memory_bytes Resident memory of the relay process.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
      '# HELP nodejs_heap_size_used_bytes JavaScript heap in use.',
      '# TYPE nodejs_heap_size_used_bytes gauge',
      `nodejs_heap_size_used_bytes ${process.memoryUsage().heapUsed}`,
      '# HELP porthole_certificate_expiry_seconds Unix time at which each certificate expires.',
      '# TYPE porthole_certificate_expiry_seconds gauge',
      ...certificates.map((c) => `porthole_certificate_expiry_seconds{name="${c.name}"} ${Math.floor(c.notAfter.getTime() / 1000)}`),
    ];
    return `${lines.join('\n')}\n`;
  }

  private connectionLines(): string[] {
    const gauges = this.connections
      ? [
          '# HELP porthole_connections Connections open on the public listeners, agents included; reserved = let in on the reserve.',
          '# TYPE porthole_connections gauge',
          `porthole_connections{slots="all"} ${this.connections.open}`,
          `porthole_connections{slots="reserved"} ${this.connections.reserved}`,
          '# HELP porthole_connections_max The most connections the relay holds (--max-connections).',
          '# TYPE porthole_connections_max gauge',
          `porthole_connections_max ${this.connections.options.maxConnections}`,
        ]
      : [];
    return [
      ...gauges,
      '# HELP porthole_connections_refused_total Connections refused: address = over --max-connections-per-ip, full = relay full, reserve = a visitor on a reserve connection.',
      '# TYPE porthole_connections_refused_total counter',
      ...Object.entries(this.refusedConnections).map(([reason, n]) => `porthole_connections_refused_total{reason="${reason}"} ${n}`),
      '# HELP porthole_connection_timeouts_total Connections cut for a TLS handshake or a request not finished in time.',
      '# TYPE porthole_connection_timeouts_total counter',
      ...Object.entries(this.timedOutConnections).map(([phase, n]) => `porthole_connection_timeouts_total{phase="${phase}"} ${n}`),
    ];
  }
}
