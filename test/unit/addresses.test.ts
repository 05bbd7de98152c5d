/**
 * core/addresses.ts: one table of hosts against the three questions, then each question as the
 * relay, the agent and the port scan ask it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalHost, isLocalhostAlias, isLoopback, reachesThisMachine } from '../../core/addresses.js';
import { parseConfig } from '../../relay/config.js';
import { OriginMap } from '../../extension/agent/originMap.js';
import { parseProcNetTcp } from '../../extension/ports/portParsers.js';
import { parseTarget } from '../../extension/agent/target.js';

// host, isLoopback, reachesThisMachine, isLocalhostAlias
const TABLE: [string, boolean, boolean, boolean][] = [
  ['localhost', true, true, true],
  ['LocalHost.', true, true, true],
  ['127.0.0.1', true, true, true],
  ['127.1', true, true, true],
  ['0x7f.0.0.1', true, true, true],
  ['::1', true, true, true],
  ['[::1]', true, true, true],
  ['0:0:0:0:0:0:0:1', true, true, true],
  ['::ffff:127.0.0.1', true, true, true],
  ['[::ffff:7f00:1]', true, true, true],
  ['127.0.0.2', true, true, false],
  ['127.255.255.254', true, true, false],
  ['::ffff:127.1.2.3', true, true, false],
  ['app.localhost', true, true, false],
  ['0.0.0.0', false, true, true],
  ['0', false, true, true],
  ['::', false, true, true],
  ['[::]', false, true, true],
  ['::ffff:0.0.0.0', false, true, true],
  ['128.0.0.1', false, false, false],
  ['10.0.0.5', false, false, false],
  ['::2', false, false, false],
  ['fe80::1', false, false, false],
  ['::ffff:10.0.0.1', false, false, false],
  ['::127.0.0.1', false, false, false],
  ['example.dev', false, false, false],
  ['127.example.dev', false, false, false],
  ['127.0.0.1.nip.io', false, false, false],
  ['localhost.example.dev', false, false, false],
  ['localhostx', false, false, false],
  ['', false, false, false],
  ['not a host', false, false, false],
  ['[::1', false, false, false],
];

test('every host against the three questions', () => {
  for (const [host, loopback, thisMachine, alias] of TABLE) {
    assert.is(isLoopback(host), loopback, `isLoopback(${JSON.stringify(host)})`);
    assert.is(reachesThisMachine(host), thisMachine, `reachesThisMachine(${JSON.stringify(host)})`);
    assert.is(isLocalhostAlias(host), alias, `isLocalhostAlias(${JSON.stringify(host)})`);
  }
});

test('canonical hosts as a browser reads them', () => {
  assert.is(canonicalHost('LOCALHOST.'), 'localhost');
  assert.is(canonicalHost('127.1'), '127.0.0.1');
  assert.is(canonicalHost('::1'), '[::1]');
  assert.is(canonicalHost('[0:0::1]'), '[::1]');
  assert.is(canonicalHost('::ffff:127.0.0.1'), '[::ffff:7f00:1]');
  assert.is(canonicalHost('a b'), undefined);
});

test('the relay: no token needed on a loopback address, and only there', () => {
  for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost', '::ffff:127.0.0.1'])
    assert.is(parseConfig(['--host', host], {})?.host, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.5']) assert.throws(() => parseConfig(['--host', host], {}), /without an agent token/, host);
});

test("the agent's origin map: any spelling of this machine is the local server, when the target is on this machine", () => {
  const local = new OriginMap(new URL('http://localhost:5173'), new URL('https://app.example.dev'));
  for (const host of ['127.0.0.2', '[::ffff:127.0.0.1]', '0.0.0.0', 'app.localhost'])
    assert.is(local.response(['Location', `http://${host}:5173/x`])[1], 'https://app.example.dev/x', host);
  const lan = new OriginMap(new URL('http://devbox.lan:5173'), new URL('https://app.example.dev'));
  assert.is(lan.response(['Location', 'http://127.0.0.1:5173/x'])[1], 'http://127.0.0.1:5173/x');
});

test('the port scan keeps the listeners an agent here can reach', () => {
  // /proc/net/tcp6 rows: ::1, ::, ::ffff:127.0.0.1, and fd00::2 (a LAN address alone).
  const table = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11 1',
    '   1: 00000000000000000000000000000000:1436 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12 1',
    '   2: 0000000000000000FFFF00000100007F:1437 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 13 1',
    '   3: 000000FD000000000000000002000000:1438 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 14 1',
  ].join('\n');
  assert.equal(
    parseProcNetTcp(table, 'LE').map((l) => l.port),
    [0x1435, 0x1436, 0x1437],
  );
});

test('typed targets: the names of "my dev server" are one share, another loopback address or name is another', () => {
  const key = (input: string) => {
    const target = parseTarget(input);
    if ('error' in target) throw new Error(target.error);
    return target.key;
  };
  for (const input of ['5173', 'localhost:5173', '127.0.0.1:5173', '[::1]:5173', '0.0.0.0:5173', 'http://[::]:5173/'])
    assert.is(key(input), 'http://localhost:5173', input);
  assert.is(key('127.0.0.2:5173'), 'http://127.0.0.2:5173');
  assert.is(key('app.localhost:5173'), 'http://app.localhost:5173');
});

test.run();
