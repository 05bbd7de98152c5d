/** What went wrong on one connection is logged with where it happened, counted, and written safely. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import { faultReporter, requestGuard } from '../../relay/faults';
import { createLog } from '../../relay/log';
import { Metrics } from '../../relay/metrics';
import { Registry } from '../../relay/registry';
import { ProtocolError } from '../../core/protocol';

function reporter() {
  const lines: string[] = [];
  const metrics = new Metrics();
  const report = faultReporter(
    createLog('json', (line) => lines.push(line)),
    metrics,
  );
  const events = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const rendered = () => metrics.render(new Registry({ gracePeriodMs: 0, maxTunnelsPerToken: 1 }), []);
  return { report, events, rendered };
}

test('an exception is logged with its tunnel, stream and stack, and counted', () => {
  const r = reporter();
  r.report(new TypeError('Invalid character in header content ["x"]'), { tunnel: 'myapp', stream: 7, remote: '127.0.0.1' });
  const [event] = r.events();
  assert.is(event.event, 'relay.exception');
  assert.is(event.tunnel, 'myapp');
  assert.is(event.stream, 7);
  assert.is(event.error, 'Invalid character in header content ["x"]');
  assert.match(String(event.stack), /TypeError: Invalid character[\s\S]*faults\.test/);
  assert.match(r.rendered(), /porthole_faults_total\{kind="exception"\} 1\n/);
  assert.match(r.rendered(), /porthole_faults_total\{kind="protocol"\} 0\n/);
});

test("a protocol error is the agent's, logged without a stack and counted apart", () => {
  const r = reporter();
  r.report(new ProtocolError('RESPONSE on stream 1 has no valid status or headers'), { tunnel: 'rogue' });
  r.report('not even an Error', {});
  assert.equal(
    r.events().map((e) => [e.event, e.tunnel, e.error, e.stack]),
    [
      ['agent.protocol-error', 'rogue', 'RESPONSE on stream 1 has no valid status or headers', undefined],
      ['relay.exception', undefined, 'not even an Error', undefined],
    ],
  );
  assert.match(r.rendered(), /porthole_faults_total\{kind="protocol"\} 1\n/);
  assert.match(r.rendered(), /porthole_faults_total\{kind="exception"\} 1\n/);
});

test('protocol errors from one address are written once a minute, saying how many; exceptions every time', () => {
  const r = reporter();
  for (let i = 0; i < 3; i++) r.report(new ProtocolError(`bad frame ${i}`), { remote: '203.0.113.7' });
  r.report(new ProtocolError('bad frame'), { remote: '198.51.100.1' });
  for (let i = 0; i < 2; i++) r.report(new TypeError('ours'), { remote: '203.0.113.7' });
  assert.equal(
    r.events().map((e) => [e.event, e.remote, e.error]),
    [
      ['agent.protocol-error', '203.0.113.7', 'bad frame 0'],
      ['agent.protocol-error', '198.51.100.1', 'bad frame'],
      ['relay.exception', '203.0.113.7', 'ours'],
      ['relay.exception', '203.0.113.7', 'ours'],
    ],
  );
  assert.match(r.rendered(), /porthole_faults_total\{kind="protocol"\} 4\n/, 'every one is counted');
});

test('an exception in a request listener cuts that connection and is reported with the tunnel its Host names', () => {
  const r = reporter();
  const cut: string[] = [];
  const guard = requestGuard(r.report, 'example.dev');
  const req = new http.IncomingMessage(new net.Socket());
  req.headers.host = 'MyApp.example.dev:443';
  req.url = '/x?y';
  const listener = guard(
    (_req: http.IncomingMessage, what: string) => {
      if (what === 'bad') throw new RangeError('Invalid status code: 1000');
    },
    (_req, what) => cut.push(what),
  );
  listener(req, 'fine');
  listener(req, 'bad');
  assert.equal(cut, ['bad']);
  const [event] = r.events();
  assert.equal([event.event, event.tunnel, event.url, event.error], ['relay.exception', 'myapp', '/x?y', 'Invalid status code: 1000']);
});

test('the metrics tell the relay process memory', () => {
  const r = reporter();
  const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(r.rendered())?.[1]);
  const heap = Number(/^nodejs_heap_size_used_bytes (\d+)$/m.exec(r.rendered())?.[1]);
  assert.ok(rss > 10_000_000 && heap > 1_000_000 && heap < rss, `${rss} / ${heap}`);
});

test('text logs quote peer text with spaces or control characters, so it cannot forge a line or steer a terminal', () => {
  const lines: string[] = [];
  createLog('text', (line) => lines.push(line))('agent.connected', {
    plain: 'bold-otter-12',
    spaced: 'porthole 0.1',
    forged: 'x\n2026-01-01T00:00:00.000Z relay.stopped',
    escape: '\x1b]0;pwned\x07',
    c1: '\x9b31m',
  });
  assert.is(lines.length, 1);
  const [line] = lines;
  assert.is(line.indexOf('\n'), line.length - 1, 'one line');
  assert.not.match(line.slice(0, -1), /\p{Cc}/u, 'no control characters');
  assert.match(line, / plain=bold-otter-12 spaced="porthole 0\.1" forged="x\\n2026/);
  assert.match(line, / escape="\\u001b\]0;pwned\\u0007" c1="\\u009b31m"$/m);
});

test.run();
