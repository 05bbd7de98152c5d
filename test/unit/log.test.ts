import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLog } from '../../relay/log';
import { LogThrottle } from '../../relay/logThrottle';

test('a field a peer chose is cut to a bounded length, in text and JSON, saying how much was left out', () => {
  const name = 'n'.repeat(128 * 1024);
  for (const format of ['text', 'json'] as const) {
    const lines: string[] = [];
    createLog(format, (line) => lines.push(line))('agent.refused', { agent: name, remote: '203.0.113.7', streams: 3 });
    assert.is(lines.length, 1);
    assert.ok(lines[0].length < 2300, `${format}: ${lines[0].length} characters`);
    assert.match(lines[0], /n…\(129024 more characters\)/);
    assert.match(lines[0], /203\.0\.113\.7/);
    assert.match(lines[0], /3/);
  }
  const lines: string[] = [];
  createLog('json', (line) => lines.push(line))('relay.listening', { url: 'http://localhost:8080' });
  assert.is(JSON.parse(lines[0]).url, 'http://localhost:8080', 'short fields as they are');
});

test('a throttled line is written once per key per window, counting what it held back', () => {
  let now = 0;
  const throttle = new LogThrottle(60_000, 2, () => now);
  assert.equal(throttle.due('a'), { count: 1, others: false });
  assert.is(throttle.due('a'), undefined);
  assert.is(throttle.due('a'), undefined);
  assert.equal(throttle.due('b'), { count: 1, others: false }, 'each key has its own window');
  assert.equal(throttle.due('c'), { count: 1, others: true }, 'past the bound, keys share one line');
  assert.is(throttle.due('d'), undefined);
  now = 60_000;
  assert.equal(throttle.due('a'), { count: 3, others: false });
  assert.equal(throttle.due('e'), { count: 1, others: false }, 'keys whose window is over make room');
});

test.run();
