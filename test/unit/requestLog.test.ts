import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_MAX_ENTRIES, RequestLog } from '../../extension/requestLog/requestLog.js';

const seqs = (log: RequestLog<string>) => log.entries().map((e) => e.seq);
const records = (log: RequestLog<string>) => log.entries().map((e) => e.record);

test('keeps entries oldest first with increasing sequence numbers', () => {
  const log = new RequestLog<string>(3);
  assert.is(log.size, 0);
  assert.is(log.oldestSeq, 1);
  log.add('a');
  log.add('b');
  assert.equal(records(log), ['a', 'b']);
  assert.equal(seqs(log), [1, 2]);
  assert.is(log.oldestSeq, 1);
});

test('evicts the oldest entry once full, and forgets evicted sequence numbers', () => {
  const log = new RequestLog<string>(3);
  for (const r of ['a', 'b', 'c', 'd', 'e']) log.add(r);
  assert.is(log.size, 3);
  assert.equal(records(log), ['c', 'd', 'e']);
  assert.equal(seqs(log), [3, 4, 5]);
  assert.is(log.oldestSeq, 3);
  assert.is(log.get(2), undefined);
  assert.is(log.get(3)?.record, 'c');
  assert.is(log.get(5)?.record, 'e');
  assert.is(log.get(6), undefined);
});

test('stays bounded and O(1) per add over many wraps', () => {
  const log = new RequestLog<number>(1000);
  for (let i = 1; i <= 250_000; i++) log.add(i);
  assert.is(log.size, 1000);
  assert.is(log.oldestSeq, 249_001);
  assert.is(log.get(250_000)?.record, 250_000);
  assert.is(log.get(249_001)?.record, 249_001);
  assert.is(log.entries()[0]!.record, 249_001);
});

test('clear empties the log but never reuses sequence numbers', () => {
  const log = new RequestLog<string>(2);
  log.add('a');
  log.add('b');
  log.clear();
  assert.is(log.size, 0);
  assert.equal(log.entries(), []);
  assert.is(log.get(2), undefined);
  assert.is(log.oldestSeq, 3);
  assert.is(log.add('c').seq, 3);
});

test('resize keeps the newest entries that fit, in order, and grows again', () => {
  const log = new RequestLog<string>(4);
  for (const r of ['a', 'b', 'c', 'd', 'e', 'f']) log.add(r);
  log.resize(2);
  assert.is(log.capacity, 2);
  assert.equal(records(log), ['e', 'f']);
  assert.is(log.get(5)?.record, 'e');
  log.resize(5);
  log.add('g');
  log.add('h');
  assert.equal(records(log), ['e', 'f', 'g', 'h']);
  assert.equal(seqs(log), [5, 6, 7, 8]);
});

test('findLast finds the newest matching record', () => {
  const log = new RequestLog<{ n: number }>(5);
  const x = { n: 1 };
  log.add(x);
  log.add({ n: 2 });
  log.add({ n: 1 });
  assert.is(log.findLast((r) => r === x)?.seq, 1);
  assert.is(log.findLast((r) => r.n === 1)?.seq, 3);
  assert.is(
    log.findLast((r) => r.n === 9),
    undefined,
  );
});

test('has the documented default size and refuses nonsense sizes with a readable error', () => {
  assert.is(new RequestLog().capacity, DEFAULT_MAX_ENTRIES);
  assert.is(DEFAULT_MAX_ENTRIES, 1000);
  assert.throws(() => new RequestLog(0), /at least 1/);
  assert.throws(() => new RequestLog(2.5), /whole number/);
  assert.throws(() => new RequestLog(3).resize(-1), /at least 1/);
});

test.run();
