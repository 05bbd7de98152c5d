import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AgentState } from '../../extension/agent/agent.js';
import { AgentError } from '../../extension/agent/relayConnection.js';
import {
  errorReason,
  formatCountdown,
  formatUptime,
  hostOf,
  initialStatus,
  nextStatus,
  present,
  type ShareStatus,
  type StatusEvent,
} from '../../extension/statusModel.js';
import { describeAccess } from '../../extension/accessPresets.js';

const T0 = 1_700_000_000_000;
const base = () =>
  initialStatus({
    label: ':5173',
    local: 'http://localhost:5173',
    relay: 'https://tunnels.example.dev',
    relayEmbedded: false,
    access: describeAccess(undefined, undefined),
  });
const run = (status: ShareStatus, ...events: StatusEvent[]) => events.reduce(nextStatus, status);
const state = (s: AgentState): StatusEvent => ({ type: 'state', state: s });
const live = (since = T0): StatusEvent => state({ status: 'live', url: 'https://myapp.tunnels.example.dev', since });

test('starts connecting, with a spinner and where it connects to', () => {
  const view = present(base(), T0);
  assert.ok(view.text.startsWith('$(sync~spin)'), view.text);
  assert.ok(view.text.includes(':5173'));
  assert.is(view.tone, 'normal');
  assert.ok(view.tooltip.includes('http://localhost:5173'));
  assert.ok(view.tooltip.includes('https://tunnels.example.dev'));
  assert.is(view.ticking, false);
  assert.ok(present(run(base(), state({ status: 'connecting', attempt: 3 })), T0).tooltip.includes('attempt 3'));
});

test('live: the public host, and a tooltip with target, relay, uptime and request count', () => {
  const status = run(base(), live(), { type: 'request' }, { type: 'request' });
  const view = present(status, T0 + 125_000);
  assert.is(view.text, '$(radio-tower) myapp.tunnels.example.dev');
  assert.is(view.tone, 'normal');
  assert.is(view.ticking, true);
  for (const part of [
    'http://localhost:5173',
    'https://myapp.tunnels.example.dev',
    'Relay: https://tunnels.example.dev',
    'Up 2 min',
    '2 requests',
  ]) {
    assert.ok(view.tooltip.includes(part), `tooltip lacks ${part}: ${view.tooltip}`);
  }
  assert.ok(present(run(base(), live(), { type: 'request' }), T0).tooltip.includes('1 request'));
  assert.ok(view.accessibility.includes('myapp.tunnels.example.dev'));
});

test('each preset shows its icon and says who can open the share', () => {
  const cases: [Parameters<typeof describeAccess>, string, string][] = [
    [[undefined, undefined], '$(radio-tower) ', 'Who can open it: Public'],
    [['me:pw', undefined], '$(lock) ', 'Who can open it: Password'],
    [[undefined, { privateLink: true, openPaths: ['/hooks/*'] }], '$(key) ', 'Who can open it: Private link · 1 open path'],
    [
      ['me:pw', { allowIps: ['10.0.0.0/8'], openPaths: ['/a', '/b'] }],
      '$(shield) ',
      'Who can open it: IP allow-list · password · 2 open paths',
    ],
  ];
  for (const [[auth, access], icon, line] of cases) {
    const view = present(run({ ...base(), access: describeAccess(auth, access) }, live()), T0);
    assert.ok(view.text.startsWith(icon), view.text);
    assert.ok(view.tooltip.includes(line), view.tooltip);
  }
  const linked = present(
    run(
      { ...base(), access: describeAccess(undefined, { privateLink: true }) },
      state({ status: 'live', url: 'https://a.b', since: T0, link: 'https://a.b/?porthole_key=k' }),
    ),
    T0,
  );
  assert.ok(linked.tooltip.includes('copy the private link from the menu'), linked.tooltip);
});

test('reconnecting: a warning with the time to the next retry, keeping the name it held', () => {
  const status = run(
    base(),
    live(),
    { type: 'request' },
    state({ status: 'reconnecting', attempt: 2, retryAt: T0 + 60_000 + 4_200, reason: 'connection reset' }),
  );
  const view = present(status, T0 + 60_000);
  assert.is(view.tone, 'warning');
  assert.ok(view.text.startsWith('$(warning)'));
  assert.ok(view.text.includes('in 5 s'), view.text);
  assert.ok(view.tooltip.includes('connection reset'));
  assert.ok(view.tooltip.includes('https://myapp.tunnels.example.dev'), 'names the URL the relay keeps');
  assert.ok(view.tooltip.includes('1 request'));
  assert.is(view.ticking, true);
  assert.ok(present(status, T0 + 64_300).text.includes('now'));
});

test('uptime counts from the first time live, across reconnects', () => {
  const status = run(base(), live(T0), state({ status: 'reconnecting', attempt: 1, retryAt: T0 + 1000, reason: 'x' }), live(T0 + 5_000));
  assert.is(status.liveSince, T0);
  assert.ok(present(status, T0 + 3_600_000 + 120_000).tooltip.includes('Up 1 h 2 min'));
});

test('failed: an error with the reason and what to do', () => {
  const cases: [AgentError['code'], string, RegExp][] = [
    ['token', 'wrong token', /Set Relay Token/],
    ['taken', 'name taken', /porthole\.subdomain/],
    ['unreachable', 'relay unreachable', /porthole\.relayUrl/],
    ['invalid-name', 'invalid name', /lowercase/],
  ];
  for (const [code, reason, hint] of cases) {
    const error = new AgentError(code, `The relay said no (${code}).`);
    const view = present(run(base(), state({ status: 'failed', error })), T0);
    assert.is(view.tone, 'error');
    assert.is(view.text, `$(error) Porthole :5173: ${reason}`);
    assert.ok(view.tooltip.includes(`The relay said no (${code}).`), 'has the error message');
    assert.ok(hint.test(view.tooltip), `hint for ${code}: ${view.tooltip}`);
    assert.is(errorReason(code), reason);
    assert.is(view.ticking, false);
  }
});

test('stopped and the embedded relay are said plainly', () => {
  const status = run({ ...base(), relayEmbedded: true, relay: 'http://localhost:8080' }, live(), state({ status: 'stopped' }));
  const view = present(status, T0);
  assert.ok(view.text.includes('stopped'));
  assert.ok(view.tooltip.includes('embedded'));
  assert.is(status.liveSince, undefined);
});

test('formatting helpers', () => {
  assert.is(formatUptime(0), '0 s');
  assert.is(formatUptime(59_999), '59 s');
  assert.is(formatUptime(60_000), '1 min');
  assert.is(formatUptime(7_260_000), '2 h 1 min');
  assert.is(formatUptime(-5), '0 s');
  assert.is(formatCountdown(0), 'now');
  assert.is(formatCountdown(-100), 'now');
  assert.is(formatCountdown(1), 'in 1 s');
  assert.is(formatCountdown(90_000), 'in 1 min 30 s');
  assert.is(hostOf('http://a.localhost:8080/x'), 'a.localhost:8080');
  assert.is(hostOf('not a url'), 'not a url');
});

test.run();
