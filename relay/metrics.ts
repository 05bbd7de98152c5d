/** Relay counters, exposed at /_porthole/metrics in Prometheus text format. */
import type { Registry } from './registry.js';

export class Metrics {
  private readonly requestsByClass = new Map<string, number>();
  bytesIn = 0;
  bytesOut = 0;
  agentConnections = 0;
  agentReconnects = 0;
  refusedAgents = 0;

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
      '# HELP porthole_certificate_expiry_seconds Unix time at which each certificate expires.',
      '# TYPE porthole_certificate_expiry_seconds gauge',
      ...certificates.map((c) => `porthole_certificate_expiry_seconds{name="${c.name}"} ${Math.floor(c.notAfter.getTime() / 1000)}`),
    ];
    return `${lines.join('\n')}\n`;
  }
}
