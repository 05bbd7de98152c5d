import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reachesThisMachine } from '../../core/addresses.js';
import {
  mergeListeners,
  parseHttpResponseStart,
  parseLsof,
  parseNetstat,
  parseProcCmdline,
  parseProcNetTcp,
  parsePsCommandLines,
  parseSocketInode,
  parseTasklistCsv,
} from '../../extension/ports/portParsers.js';
import { fixture } from './portsSupport.js';

interface Session {
  pid: number;
  listeners: { host: string; port: number }[];
}
const sessions = (name: string): Session[] => (JSON.parse(fixture(name)) as { sessions: Session[] }).sessions;
const key = (l: { address?: string; host?: string; port: number }) => `${l.address ?? l.host}:${l.port}`;
const reachable = (s: Session) => s.listeners.filter((l) => !['192.0.2.2', 'fd00::2'].includes(l.host));

// --- Linux /proc ---

test('/proc/net/tcp{,6}: every loopback or all-interfaces listener recorded, and nothing else', () => {
  const parsed = [...parseProcNetTcp(fixture('linux-proc-net-tcp.txt')), ...parseProcNetTcp(fixture('linux-proc-net-tcp6.txt'))];
  const found = new Set(parsed.map(key));
  const recorded = sessions('linux-session.json');
  for (const listener of recorded.flatMap(reachable)) assert.ok(found.has(key(listener)), `missing ${key(listener)}`);
  assert.not.ok(
    parsed.some((l) => l.address === '192.0.2.2' || l.address === 'fd00::2'),
    'LAN listeners are not reachable on loopback',
  );
  // Besides ours, only the recording machine's own listener: no ends of the established connection, no TIME_WAIT rows.
  const ours = new Set(recorded.flatMap((s) => s.listeners.map((l) => l.port)));
  assert.equal(parsed.filter((l) => !ours.has(l.port)).map(key), ['0.0.0.0:2024']);
  const mapped = recorded[0].listeners.find((l) => l.host === '::ffff:127.0.0.1');
  assert.ok(mapped && found.has(key(mapped)), 'IPv4-mapped address kept as such');
});

test('/proc: socket inodes lead to the process that opened them', () => {
  const [node] = sessions('linux-session.json');
  const inodesOfNode = new Set(
    fixture('linux-proc-fd-links.txt')
      .split('\n')
      .map((line) => parseSocketInode(line.split(' -> ')[1] ?? ''))
      .filter((inode) => inode !== undefined),
  );
  const parsed = [...parseProcNetTcp(fixture('linux-proc-net-tcp.txt')), ...parseProcNetTcp(fixture('linux-proc-net-tcp6.txt'))];
  const nodePorts = new Set(reachable(node).map(key));
  const owned = parsed
    .filter((l) => inodesOfNode.has(l.inode))
    .map(key)
    .sort();
  assert.equal(owned, [...nodePorts].sort());
  assert.is(parseSocketInode('pipe:[11618]'), undefined);
  assert.is(parseSocketInode('socket:[42'), undefined);
  assert.is(fixture('linux-proc-comm.txt').trim(), 'dev server');
  assert.match(parseProcCmdline(fixture('linux-proc-cmdline.bin')), /\/python3 -u -m http\.server --bind 127\.0\.0\.1 0$/);
});

test('/proc: 500 recorded listeners, merged to one entry per port', () => {
  const [many] = sessions('linux-many-session.json');
  const parsed = [...parseProcNetTcp(fixture('linux-many-proc-net-tcp.txt')), ...parseProcNetTcp(fixture('linux-many-proc-net-tcp6.txt'))];
  const found = new Set(parsed.map(key));
  assert.is(many.listeners.length, 500);
  for (const listener of many.listeners) assert.ok(found.has(key(listener)), `missing ${key(listener)}`);
  const merged = mergeListeners(parsed);
  assert.is(merged.length, new Set(parsed.map((l) => l.port)).size);
  assert.ok(
    merged.every((l, i) => i === 0 || merged[i - 1].port < l.port),
    'sorted by port',
  );
});

test('/proc: big-endian hosts print address words the other way round', () => {
  const row = '   0: 7F000001:1435 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0';
  assert.equal(parseProcNetTcp(row, 'BE'), [{ port: 0x1435, address: '127.0.0.1', inode: 4242, uid: 1000 }]);
  assert.equal(parseProcNetTcp(row, 'LE'), [], '1.0.0.127 is not loopback');
});

// --- lsof (recorded on Linux; macOS written in its layout) ---

test('lsof (recorded): names unescaped, * by family, IPv4-mapped shown as IPv4, LAN skipped', () => {
  const parsed = parseLsof(fixture('linux-lsof.txt'));
  const [node, renamed, python] = sessions('linux-session.json');
  const byKey = new Map(parsed.map((l) => [key(l), l]));
  const lsofKey = (l: { host: string; port: number }) => key({ host: l.host === '::ffff:127.0.0.1' ? '127.0.0.1' : l.host, port: l.port });
  for (const listener of reachable(node)) assert.is(byKey.get(lsofKey(listener))?.pid, node.pid, lsofKey(listener));
  assert.equal(byKey.get(key(renamed.listeners[0])), {
    port: renamed.listeners[0].port,
    address: '127.0.0.1',
    pid: renamed.pid,
    processName: 'dev server',
  });
  assert.is(byKey.get(key(python.listeners[0]))?.processName, 'python3');
  assert.is(parsed.length, reachable(node).length + 2);
});

test('lsof (recorded): 500 listeners', () => {
  const [many] = sessions('linux-many-session.json');
  const found = new Set(
    parseLsof(fixture('linux-many-lsof.txt'))
      .filter((l) => l.pid === many.pid)
      .map(key),
  );
  assert.is(found.size, 500);
  for (const listener of many.listeners) assert.ok(found.has(key(listener)), key(listener));
});

test('lsof (macOS layout): hex devices, escaped names, [::1], warnings and truncated lines skipped', () => {
  const parsed = parseLsof(fixture('macos-lsof.txt'));
  assert.equal(
    parsed.find((l) => l.pid === 2231),
    { port: 53412, address: '127.0.0.1', pid: 2231, processName: 'Code Helper (Plugin)' },
  );
  assert.equal(parsed.filter((l) => l.pid === 4410).map(key), ['::1:5173', '127.0.0.1:5173'], 'no ESTABLISHED row, no truncated row');
  assert.equal(parsed.find((l) => l.port === 3000)?.address, '::');
  assert.equal(parsed.find((l) => l.port === 7000)?.address, '0.0.0.0');
  assert.not.ok(
    parsed.some((l) => l.port === 4000 || l.port === 8001),
    'LAN and link-local listeners skipped',
  );
  assert.is(parsed.length, 16);
});

test('lsof: 500 generated rows on mixed families', () => {
  const rows = Array.from({ length: 500 }, (_, i) =>
    i % 2
      ? `node      ${7000 + i}   jdoe   ${20 + i}u  IPv6 0x6c1f0d8e29f4${(4096 + i).toString(16)}      0t0  TCP [::1]:${20000 + i} (LISTEN)`
      : `node      ${7000 + i}   jdoe   ${20 + i}u  IPv4 0x6c1f0d8e2a53${(4096 + i).toString(16)}      0t0  TCP 127.0.0.1:${20000 + i} (LISTEN)`,
  );
  const parsed = parseLsof(['COMMAND   PID   USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME', ...rows].join('\n'));
  assert.is(parsed.length, 500);
  assert.equal(parsed[499], { port: 20499, address: '::1', pid: 7499, processName: 'node' });
});

test('ps: command lines by PID', () => {
  const [node, renamed, python] = sessions('linux-session.json');
  const lines = parsePsCommandLines(fixture('linux-ps.txt'));
  assert.equal([...lines.keys()], [node.pid, renamed.pid, python.pid]);
  assert.match(lines.get(python.pid) ?? '', /python3 -u -m http\.server --bind 127\.0\.0\.1 0$/);
  assert.match(lines.get(renamed.pid) ?? '', /\/dev server -e /);
});

// --- Windows ---

test('netstat -ano: LISTENING rows of both families; link-local, LAN, UDP and connections skipped', () => {
  const parsed = parseNetstat(fixture('windows-netstat.txt'));
  assert.equal(
    parsed.map((l) => `${key(l)}/${l.pid}`),
    [
      '0.0.0.0:135/1104',
      '0.0.0.0:445/4',
      '0.0.0.0:5040/7260',
      '0.0.0.0:8000/17044',
      '127.0.0.1:3000/15872',
      '127.0.0.1:49670/5236',
      ':::135/1104',
      ':::445/4',
      ':::8000/17044',
      '::1:5173/16340',
    ],
  );
});

test('netstat -ano: translated states are recognised by the remote port 0', () => {
  assert.equal(parseNetstat(fixture('windows-netstat-de.txt')).map(key), ['0.0.0.0:135', '127.0.0.1:5173', '::1:5173']);
});

test('netstat -ano: 500 generated rows', () => {
  const rows = Array.from({ length: 500 }, (_, i) =>
    i % 2
      ? `  TCP    [::1]:${30000 + i}            [::]:0                 LISTENING       ${9000 + i}`
      : `  TCP    127.0.0.1:${30000 + i}        0.0.0.0:0              LISTENING       ${9000 + i}`,
  );
  const parsed = parseNetstat(
    ['', 'Active Connections', '', '  Proto  Local Address          Foreign Address        State           PID', ...rows].join('\r\n'),
  );
  assert.is(parsed.length, 500);
  assert.equal(parsed[1], { port: 30001, address: '::1', pid: 9001 });
});

test('tasklist CSV: image names by PID, commas inside quotes, garbage skipped', () => {
  const names = parseTasklistCsv(fixture('windows-tasklist.csv'));
  assert.is(names.size, 9);
  assert.is(names.get(0), 'System Idle Process');
  assert.is(names.get(16340), 'node.exe');
  assert.is(names.get(5236), 'Code.exe');
});

// --- Garbage ---

test('garbage, binary and every truncation of every fixture: no throw, only valid listeners', () => {
  const texts = [
    'linux-proc-net-tcp.txt',
    'linux-proc-net-tcp6.txt',
    'linux-lsof.txt',
    'macos-lsof.txt',
    'windows-netstat.txt',
    'windows-tasklist.csv',
    'linux-ps.txt',
  ].map(fixture);
  const noise = [
    '',
    '\n\n\r\n',
    '\0\x01\xff'.repeat(50),
    'TCP : : : :',
    '   0: ZZZZZZZZ:XXXX 00000000:0000 0A',
    'node 1 x 1u IPv4 1 0t0 TCP *:99999 (LISTEN)',
    '  TCP    127.0.0.1:0    0.0.0.0:0    LISTENING    1',
    '  TCP    1.2.3:4:5    0.0.0.0:0    LISTENING    x',
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString('latin1'),
  ];
  const truncations = texts.flatMap((t) => Array.from({ length: 64 }, (_, i) => t.slice(0, Math.floor((t.length * i) / 64))));
  for (const text of [...noise, ...truncations]) {
    for (const parse of [parseProcNetTcp, parseLsof, parseNetstat]) {
      for (const found of parse(text)) {
        assert.ok(found.port > 0 && found.port < 65536 && reachesThisMachine(found.address), JSON.stringify(found));
      }
    }
    for (const pid of [...parseTasklistCsv(text).keys(), ...parsePsCommandLines(text).keys()])
      assert.ok(Number.isInteger(pid), String(pid));
  }
  for (const text of noise)
    assert.equal([parseProcNetTcp(text), parseLsof(text), parseNetstat(text)], [[], [], []], JSON.stringify(text.slice(0, 40)));
});

// --- HTTP ---

test('parseHttpResponseStart: status without title, HTTP/1.0, not HTTP', () => {
  assert.equal(parseHttpResponseStart('HTTP/1.0 302 Found\r\nLocation: /login\r\n\r\n'), { status: 302 });
  assert.equal(parseHttpResponseStart('HTTP/1.1 200 OK\r\n\r\n<TITLE></TITLE>'), { status: 200 });
  assert.is(parseHttpResponseStart('-ERR unknown command'), undefined);
  assert.is(parseHttpResponseStart(''), undefined);
});

test.run();
