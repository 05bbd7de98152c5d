/**
 * The status-bar entry of one share as a pure state machine: agent states and request counts in,
 * text, tooltip and tone out. statusBar.ts only copies the presentation onto a StatusBarItem, so
 * everything a user reads there is decided (and unit-tested) here.
 */
import type { AgentState } from './agent/agent.js';
import type { AgentError } from './agent/relayConnection.js';
import { PRESETS, type ShareAccess } from './accessPresets.js';

export interface ShareStatus {
  /** Short local label, e.g. ":5173". */
  label: string;
  /** Local URL, e.g. http://localhost:5173. */
  local: string;
  relay: string;
  relayEmbedded: boolean;
  state: AgentState;
  /** Last public URL, kept while reconnecting so the tooltip can say which name is held. */
  url?: string;
  /** When the tunnel first went live; uptime survives reconnects. */
  liveSince?: number;
  requests: number;
  /** Who can open it: the icon and a line of the tooltip. */
  access: ShareAccess;
}

export type StatusEvent = { type: 'state'; state: AgentState } | { type: 'request' } | { type: 'cleared' };

export type Tone = 'normal' | 'warning' | 'error';

export interface StatusPresentation {
  text: string;
  tooltip: string;
  tone: Tone;
  /** Read by screen readers instead of the codicon-laden text. */
  accessibility: string;
  /** True while the text shows a countdown or uptime, so the owner knows to refresh it. */
  ticking: boolean;
}

export function initialStatus(init: Omit<ShareStatus, 'state' | 'requests'>): ShareStatus {
  return { ...init, state: { status: 'connecting', attempt: 1 }, requests: 0 };
}

export function nextStatus(status: ShareStatus, event: StatusEvent): ShareStatus {
  switch (event.type) {
    case 'request':
      return { ...status, requests: status.requests + 1 };
    case 'cleared':
      return status;
    case 'state': {
      const state = event.state;
      if (state.status === 'live') {
        return { ...status, state, url: state.url, liveSince: status.liveSince ?? state.since };
      }
      if (state.status === 'failed' || state.status === 'stopped') {
        return { ...status, state, liveSince: undefined };
      }
      return { ...status, state };
    }
  }
}

const REASONS: Record<AgentError['code'], string> = {
  token: 'wrong token',
  taken: 'name taken',
  'invalid-name': 'invalid name',
  version: 'update needed',
  limit: 'relay limit reached',
  unreachable: 'relay unreachable',
  certificate: 'relay certificate not trusted',
  malformed: 'protocol error',
  access: 'access rules refused',
};

const HINTS: Record<AgentError['code'], string> = {
  token: 'Run “Porthole: Set Relay Token” with a token the relay accepts, then share again.',
  taken: 'Another tunnel holds this name: change the “porthole.subdomain” setting or stop the other tunnel.',
  'invalid-name': 'Use lowercase letters, digits and dashes in the “porthole.subdomain” setting.',
  version: 'The relay speaks a different protocol version: update the extension or the relay.',
  limit: 'The relay refused one more tunnel: stop another share or raise the relay’s limits.',
  unreachable: 'Check the “porthole.relayUrl” setting and that the relay is running.',
  certificate:
    'For a relay with a self-signed or company CA certificate, start VS Code with NODE_EXTRA_CA_CERTS set to that CA’s PEM file (README: “Trusting the relay’s certificate”).',
  malformed: 'The relay sent something this agent does not understand: check the relay URL and versions.',
  access: 'The relay refused the share’s access rules (an IP range or open path it cannot read): share again with other rules.',
};

export function errorReason(code: AgentError['code']): string {
  return REASONS[code] ?? code;
}

function errorHint(code: AgentError['code']): string {
  return HINTS[code] ?? '';
}

export function present(status: ShareStatus, now: number): StatusPresentation {
  const state = status.state;
  const relay = `Relay: ${status.relay}${status.relayEmbedded ? ' (embedded, this machine only)' : ''}`;
  const local = `Local: ${status.local}`;
  const requests = `${status.requests} request${status.requests === 1 ? '' : 's'}`;
  switch (state.status) {
    case 'connecting': {
      const retry = state.retry;
      const wait = retry ? formatCountdown(retry.at - now) : '';
      return {
        text: `$(sync~spin) Porthole ${status.label}`,
        tooltip: lines(
          retry
            ? `Porthole: connecting; attempt ${state.attempt} failed (${retry.reason}), trying again ${wait}.`
            : `Porthole: connecting${state.attempt > 1 ? ` (attempt ${state.attempt})` : ''}…`,
          local,
          relay,
        ),
        tone: 'normal',
        accessibility: `Porthole: connecting ${status.local} to the relay${retry ? `, trying again ${wait}` : ''}`,
        ticking: retry !== undefined,
      };
    }
    case 'live': {
      const host = hostOf(state.url);
      const since = status.liveSince ?? state.since;
      return {
        text: `$(${PRESETS[status.access.preset].icon}) ${host}`,
        tooltip: lines(
          `Porthole: ${status.local} is shared at ${state.url}`,
          `Who can open it: ${status.access.label}${state.link ? ' (copy the private link from the menu)' : ''}`,
          local,
          relay,
          `Up ${formatUptime(now - since)} · ${requests}`,
          `Click to open, copy${state.link ? ' the private link' : ''}, show the request log or stop sharing.`,
        ),
        tone: 'normal',
        accessibility: `Porthole: sharing ${status.local} at ${host}`,
        ticking: true,
      };
    }
    case 'reconnecting': {
      const wait = formatCountdown(state.retryAt - now);
      return {
        text: `$(warning) Porthole ${status.label} retry ${wait}`,
        tooltip: lines(
          `Porthole: connection to the relay lost (${state.reason}); reconnecting ${wait} (attempt ${state.attempt}).`,
          status.url ? `The relay keeps ${status.url} for this tunnel for a while.` : '',
          local,
          relay,
          requests,
        ),
        tone: 'warning',
        accessibility: `Porthole: reconnecting ${status.local} ${wait}`,
        ticking: true,
      };
    }
    case 'failed': {
      const code = state.error.code;
      return {
        text: `$(error) Porthole ${status.label}: ${errorReason(code)}`,
        tooltip: lines(
          `Porthole: could not share ${status.local}.`,
          state.error.message,
          errorHint(code),
          local,
          relay,
          'Click to retry or dismiss.',
        ),
        tone: 'error',
        accessibility: `Porthole: sharing ${status.local} failed: ${errorReason(code)}`,
        ticking: false,
      };
    }
    case 'stopped':
      return {
        text: `$(circle-slash) Porthole ${status.label} stopped`,
        tooltip: lines(`Porthole: sharing ${status.local} stopped.`, local, relay, requests),
        tone: 'normal',
        accessibility: `Porthole: sharing ${status.local} stopped`,
        ticking: false,
      };
  }
}

/** A share's row in the Porthole view: what it is, how it is, who may open it, and how busy it is. */
export interface ShareRow {
  /** The public host once known, else the local label (":5173"). */
  label: string;
  description: string;
  /** A codicon id. */
  icon: string;
  /** "live", "connecting", …: the view's context value and its inline actions depend on it. */
  state: AgentState['status'];
}

const STATE_WORDS: Record<AgentState['status'], string> = {
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  failed: 'failed',
  stopped: 'stopped',
};
const STATE_ICONS: Record<AgentState['status'], string> = {
  connecting: 'sync~spin',
  live: 'radio-tower',
  reconnecting: 'warning',
  failed: 'error',
  stopped: 'circle-slash',
};

export function shareRow(status: ShareStatus): ShareRow {
  const state = status.state;
  const word = state.status === 'failed' ? `failed: ${errorReason(state.error.code)}` : STATE_WORDS[state.status];
  const requests = `${status.requests} request${status.requests === 1 ? '' : 's'}`;
  return {
    label: status.url ? hostOf(status.url) : status.label,
    description: [status.url ? status.label : '', word, status.access.label, requests].filter(Boolean).join(' · '),
    icon: state.status === 'live' ? PRESETS[status.access.preset].icon : STATE_ICONS[state.status],
    state: state.status,
  };
}

export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function formatUptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return `${h} h ${min % 60} min`;
}

/** "in 4 s", or "now" once the retry time has come. */
export function formatCountdown(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s <= 0) return 'now';
  return s < 60 ? `in ${s} s` : `in ${Math.floor(s / 60)} min ${s % 60} s`;
}

function lines(...parts: string[]): string {
  return parts.filter(Boolean).join('\n');
}
