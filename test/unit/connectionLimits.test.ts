import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BYTES_PER_CONNECTION,
  ConnectionLimits,
  RESERVE_PER_ADDRESS,
  clientAddress,
  defaultMaxConnections,
  type ConnectionAdmission,
  type Slot,
} from '../../relay/connectionLimits';
import { RefusalLog } from '../../relay/connectionGuard';
import type { LogFields } from '../../relay/log';

function slotOf(admission: ConnectionAdmission): Slot {
  if (!admission.ok) throw new Error(`refused: ${admission.reason}`);
  return admission.slot;
}

test('IPv4 counts per address; IPv4-mapped IPv6 counts as the IPv4 address it is', () => {
  assert.is(clientAddress('203.0.113.7', 64), '203.0.113.7');
  assert.is(clientAddress('::ffff:203.0.113.7', 64), '203.0.113.7', 'not ::/64, which would hold every IPv4 client');
  assert.is(clientAddress('::FFFF:127.0.0.1', 64), '127.0.0.1');
});

test('IPv6 counts per prefix, /64 by default; the text is canonical whatever the spelling', () => {
  const table: [string, number, string][] = [
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64, '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:0:0:0:1', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', 64, '2001:db8:1:2::/64'],
    ['2001:db8::1', 64, '2001:db8::/64'],
    ['2001:db8:1:2ff::1', 56, '2001:db8:1:200::/56'],
    ['2001:db8:1:2::1', 48, '2001:db8:1::/48'],
    ['2001:db8:0:0:1:0:0:1', 128, '2001:db8::1:0:0:1'],
    ['::1', 64, '::/64'],
    ['::1', 128, '::1'],
    ['fe80::1%eth0', 64, 'fe80::/64'],
    ['64:ff9b::192.0.2.33', 96, '64:ff9b::/96'],
    ['64:ff9b::192.0.2.33', 128, '64:ff9b::c000:221'],
    ['2001:db8:1:2:3:4:5:6', 63, '2001:db8:1:2::/63'],
    ['2001:db8:1:3:3:4:5:6', 63, '2001:db8:1:2::/63'],
  ];
  for (const [address, prefix, expected] of table) assert.is(clientAddress(address, prefix), expected, `${address}/${prefix}`);
});

test('one address gets --max-connections-per-ip connections; others are unaffected; closing frees one', () => {
  const limits = new ConnectionLimits({ maxConnections: 1000, maxPerAddress: 3, ipv6Prefix: 64 });
  const slots = [1, 2, 3].map(() => slotOf(limits.admit('198.51.100.1')));
  assert.equal(limits.admit('198.51.100.1'), { ok: false, reason: 'address', address: '198.51.100.1' });
  assert.ok(limits.admit('198.51.100.2').ok);
  assert.is(limits.heldBy('198.51.100.1'), 3);
  limits.release(slots[0]);
  assert.ok(limits.admit('198.51.100.1').ok);
  assert.is(limits.open, 4);
});

test('IPv6 addresses of one /64 share its limit; another /64 has its own', () => {
  const limits = new ConnectionLimits({ maxConnections: 1000, maxPerAddress: 2, ipv6Prefix: 64 });
  assert.ok(limits.admit('2001:db8:1:2::a').ok);
  assert.ok(limits.admit('2001:db8:1:2::b').ok);
  assert.equal(limits.admit('2001:db8:1:2:ffff::c'), { ok: false, reason: 'address', address: '2001:db8:1:2::/64' });
  assert.ok(limits.admit('2001:db8:1:3::a').ok);
});

test('an exempt address (another node of a cluster) has no per-address limit; it still counts toward the total', () => {
  const limits = new ConnectionLimits({ maxConnections: 100, maxPerAddress: 2, ipv6Prefix: 64, exempt: (a) => a === '10.0.0.12' });
  for (let i = 0; i < 5; i++) slotOf(limits.admit('10.0.0.12'));
  assert.is(limits.open, 5);
  slotOf(limits.admit('203.0.113.7'));
  slotOf(limits.admit('203.0.113.7'));
  const third = limits.admit('203.0.113.7');
  assert.ok(!third.ok && third.reason === 'address');
});

test('--max-connections-per-ip 0: no limit per address', () => {
  const limits = new ConnectionLimits({ maxConnections: 1000, maxPerAddress: 0, ipv6Prefix: 64 });
  for (let i = 0; i < 500; i++) assert.ok(limits.admit('10.0.0.1').ok);
});

test('visitors fill nine tenths; the reserve takes a few per address; the relay refuses beyond its cap', () => {
  const limits = new ConnectionLimits({ maxConnections: 100, maxPerAddress: 50, ipv6Prefix: 64 });
  assert.is(limits.reserve, 10);
  for (let i = 0; i < 90; i++) assert.not.ok(slotOf(limits.admit(`10.0.${i % 2}.1`)).reserved);
  // Visitors have no room: the next connections are let in on the reserve, a few per address.
  const reserved = Array.from({ length: RESERVE_PER_ADDRESS }, () => slotOf(limits.admit('10.9.9.9')));
  assert.ok(reserved.every((slot) => slot.reserved));
  assert.equal(limits.admit('10.9.9.9'), { ok: false, reason: 'full', address: '10.9.9.9' });
  assert.ok(slotOf(limits.admit('10.8.8.8')).reserved);
  assert.ok(slotOf(limits.admit('10.7.7.7')).reserved);
  assert.is(limits.open, 100);
  assert.equal(limits.admit('10.6.6.6'), { ok: false, reason: 'full', address: '10.6.6.6' });
  assert.is(limits.reserved, 10);
});

test('a reserve connection may carry a visitor once visitors have room again, not before', () => {
  const limits = new ConnectionLimits({ maxConnections: 20, maxPerAddress: 20, ipv6Prefix: 64 });
  const visitors = Array.from({ length: 18 }, () => slotOf(limits.admit('10.0.0.1')));
  const spare = slotOf(limits.admit('10.0.0.2'));
  assert.ok(spare.reserved);
  assert.not.ok(limits.promote(spare), 'visitors still full');
  limits.release(visitors[0]);
  assert.ok(limits.promote(spare));
  assert.not.ok(spare.reserved);
  assert.is(limits.reserved, 0);
  assert.ok(slotOf(limits.admit('10.0.0.3')).reserved, 'the promoted connection took the free visitor slot');
});

test('an agent that registered no longer counts against its address, but still against the relay', () => {
  const limits = new ConnectionLimits({ maxConnections: 1000, maxPerAddress: 2, ipv6Prefix: 64 });
  const agents = [slotOf(limits.admit('192.0.2.5')), slotOf(limits.admit('192.0.2.5'))];
  for (const agent of agents) limits.exempt(agent);
  limits.exempt(agents[0]);
  assert.is(limits.heldBy('192.0.2.5'), 0);
  assert.ok(limits.admit('192.0.2.5').ok);
  assert.ok(limits.admit('192.0.2.5').ok);
  assert.is(limits.open, 4);
  for (const agent of agents) limits.release(agent);
  assert.is(limits.open, 2);
  assert.is(limits.heldBy('192.0.2.5'), 2);
});

test('counts return to zero whatever the order of admit, promote, exempt and release', () => {
  const limits = new ConnectionLimits({ maxConnections: 30, maxPerAddress: 12, ipv6Prefix: 64 });
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const open: Slot[] = [];
  for (let step = 0; step < 5000; step++) {
    const action = random(4);
    if (action === 0 || open.length === 0) {
      const admission = limits.admit(`10.0.0.${random(4)}`);
      if (admission.ok) open.push(admission.slot);
    } else if (action === 1) limits.promote(open[random(open.length)]);
    else if (action === 2) limits.exempt(open[random(open.length)]);
    else limits.release(open.splice(random(open.length), 1)[0]);
    assert.ok(limits.open <= 30 && limits.reserved <= limits.reserve, `step ${step}`);
  }
  for (const slot of open) limits.release(slot);
  assert.is(limits.open, 0);
  assert.is(limits.reserved, 0);
  for (let i = 0; i < 4; i++) assert.is(limits.heldBy(`10.0.0.${i}`), 0);
});

test('the default cap: nine tenths of the open-files limit, no more than half the memory holds', () => {
  const procLimits = (soft: number) =>
    `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                ${soft}                files\n`;
  const plenty = 64 * 2 ** 30;
  assert.is(defaultMaxConnections(procLimits(65536), plenty), 58982);
  assert.is(defaultMaxConnections(procLimits(20000), plenty), 18000);
  assert.is(defaultMaxConnections(procLimits(65536), 2 ** 30), Math.floor(2 ** 29 / BYTES_PER_CONNECTION), 'a 1 GiB server');
  assert.is(defaultMaxConnections(null, plenty), 10_000, 'no /proc: a fixed fallback');
});

test('refusals are logged once per address per minute, with how many there were', () => {
  const lines: LogFields[] = [];
  let now = 0;
  const log = new RefusalLog(
    (_event, fields = {}) => lines.push(fields),
    () => now,
  );
  for (let i = 0; i < 1000; i++) log.refused('203.0.113.9', 'address', 256);
  log.refused('203.0.113.10', 'full', 1);
  assert.equal(lines, [
    { address: '203.0.113.9', reason: 'address', held: 256, refused: 1 },
    { address: '203.0.113.10', reason: 'full', held: 1, refused: 1 },
  ]);
  now = 59_999;
  log.refused('203.0.113.9', 'address', 256);
  assert.is(lines.length, 2);
  now = 60_000;
  log.refused('203.0.113.9', 'address', 256);
  assert.equal(lines[2], { address: '203.0.113.9', reason: 'address', held: 256, refused: 1001 });
});

test('refusals from very many addresses are logged together, once a minute', () => {
  const lines: LogFields[] = [];
  const log = new RefusalLog(
    (_event, fields = {}) => lines.push(fields),
    () => 0,
  );
  for (let i = 0; i < 5000; i++) log.refused(`10.${i >> 8}.${i & 255}.1`, 'full', 0);
  assert.is(lines.length, 1001);
  assert.match(String(lines[1000].address), /others/);
});

test.run();
