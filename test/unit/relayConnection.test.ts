/**
 * The agent's retry policy, ending by ending: what time can fix is retried (counted towards giving
 * up, or not when the relay asked for patience), what it cannot fix stops at once, and after a tunnel
 * was live only a refusal stops it. The integration suites meet the same endings for real
 * (relayTrust, resilience, cluster/redis); this table keeps every close code in view.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Ending, type Verdict, judge, maskingNeeded, relayEndpoint } from '../../extension/agent/relayConnection.js';

const RELAY = 'https://relay.example.dev';
const URL_TLS = relayEndpoint(RELAY);
const URL_PLAIN = relayEndpoint('http://relay.example.dev:8080');

const closed = (code: number, reason = '', goingAway = false): Ending => ({ code, reason, goingAway });
const failed = (code: string, message = code): Ending => ({
  code: 1006,
  reason: message,
  goingAway: false,
  error: Object.assign(new Error(message), { code }),
});
const answered = (status: number, headers: { location?: string; retryAfter?: string } = {}): Ending => ({
  code: 1006,
  reason: '',
  goingAway: false,
  response: { status, ...headers },
});

/** 'counted', 'uncounted', 'soon' or 'stop:<code>', and the sentence. */
function outcome(verdict: Verdict): [string, string] {
  if (!verdict.retry) return [`stop:${verdict.error.code}`, verdict.error.message];
  return [verdict.soon ? 'soon' : verdict.counts ? 'counted' : 'uncounted', verdict.reason];
}

test('each ending before the first success', () => {
  const cases: [Ending, URL, string, RegExp][] = [
    [failed('ECONNREFUSED'), URL_TLS, 'counted', /relay\.example\.dev refused the connection/],
    [failed('ECONNRESET', 'socket hang up'), URL_TLS, 'counted', /was reset/],
    [failed('EAI_AGAIN'), URL_TLS, 'counted', /could not be looked up just now/],
    [failed('ENOTFOUND'), URL_TLS, 'stop:unreachable', /does not resolve\. Check the relay URL/],
    [{ ...closed(1006), error: new Error('Opening handshake has timed out') }, URL_TLS, 'counted', /handshake has timed out/],
    [failed('SELF_SIGNED_CERT_IN_CHAIN'), URL_TLS, 'stop:certificate', /not trusted .*NODE_EXTRA_CA_CERTS/],
    [failed('UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), URL_TLS, 'stop:certificate', /NODE_EXTRA_CA_CERTS/],
    [failed('CERT_HAS_EXPIRED'), URL_TLS, 'stop:certificate', /has expired .*operator/],
    [failed('ERR_TLS_CERT_ALTNAME_INVALID'), URL_TLS, 'stop:certificate', /other names than relay\.example\.dev/],
    [
      failed('EPROTO', 'ssl3_get_record:wrong version number'),
      URL_TLS,
      'stop:unreachable',
      /use http:\/\/relay\.example\.dev as the relay URL/,
    ],
    [
      answered(308, { location: 'https://relay.example.dev/_porthole/connect' }),
      URL_PLAIN,
      'stop:unreachable',
      /serves HTTPS only: use https:\/\/relay\.example\.dev as/,
    ],
    [answered(302, { location: '/login' }), URL_TLS, 'stop:unreachable', /redirect \(HTTP 302 to \/login\)/],
    [answered(404), URL_TLS, 'stop:unreachable', /HTTP 404 .*is it a Porthole relay/],
    [answered(429, { retryAfter: '5' }), URL_TLS, 'uncounted', /too many connections from this address/],
    [answered(503), URL_TLS, 'uncounted', /full or restarting/],
    [answered(502), URL_TLS, 'counted', /proxy in front of the relay answered HTTP 502/],
    [
      closed(1013, 'the relay cluster cannot reach Redis right now'),
      URL_TLS,
      'uncounted',
      /try again later: the relay cluster cannot reach Redis/,
    ],
    [closed(1001, 'relay shutting down'), URL_TLS, 'soon', /shutting down/],
    [closed(1000, '', true), URL_TLS, 'soon', /the relay restarted/],
    [closed(4000, 'token'), URL_TLS, 'stop:unreachable', /refused this agent \(token\)/],
    [closed(4001, 'no heartbeat for 40 s'), URL_TLS, 'counted', /stopped answering heartbeats/],
    [closed(1002, 'no HELLO within 10 s'), URL_TLS, 'counted', /protocol error: no HELLO/],
    [closed(1011, 'internal error while welcoming the agent'), URL_TLS, 'counted', /internal error/],
    [closed(1009), URL_TLS, 'counted', /update Porthole on both ends/],
    [closed(1006), URL_TLS, 'counted', /the connection dropped/],
    [closed(4002, 'this tunnel moved'), URL_TLS, 'counted', /this tunnel moved \(code 4002\)/],
  ];
  for (const [ending, url, kind, sentence] of cases) {
    const [got, text] = outcome(judge(ending, RELAY, url, false));
    const name = `${ending.error?.message ?? ending.response?.status ?? ending.code}`;
    assert.is(got, kind, name);
    assert.match(text, sentence, name);
  }
});

test('a 429 or 503 waits at least its Retry-After', () => {
  const verdict = judge(answered(429, { retryAfter: '5' }), RELAY, URL_TLS, false);
  assert.is(verdict.retry && verdict.waitMs, 5000);
  const nonsense = judge(answered(503, { retryAfter: 'soon' }), RELAY, URL_TLS, false);
  assert.is(nonsense.retry && nonsense.waitMs, undefined);
});

test('once live, what would have stopped it is retried: the relay was right, its trouble passes', () => {
  for (const ending of [failed('CERT_HAS_EXPIRED'), answered(404), failed('ENOTFOUND'), closed(4000, 'token')]) {
    const [kind, text] = outcome(judge(ending, RELAY, URL_TLS, true));
    assert.is(kind, 'counted', text);
  }
});

test('frames are masked only on plain ws:// to another machine', () => {
  assert.ok(maskingNeeded(URL_PLAIN));
  assert.not.ok(maskingNeeded(URL_TLS));
  for (const local of ['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080', 'http://app.localhost:8080'])
    assert.not.ok(maskingNeeded(relayEndpoint(local)), local);
});

test.run();
