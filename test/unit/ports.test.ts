import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
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
  type Listener,
} from '../../extension/ports/portParsers.js';
import { labelHttp, probeHttp } from '../../extension/ports/httpProbe.js';
import { categorize, rankListeners, type ListeningPort, type PortCategory } from '../../extension/ports/portRanking.js';
import { scanPorts, type PortSource } from '../../extension/ports/ports.js';
import { PortWatcher } from '../../extension/ports/portWatcher.js';
import { waitFor } from '../wait.cjs';
import { reachesThisMachine } from '../../core/addresses.js';

const fixtures = path.join(__dirname, '..', 'fixtures', 'ports');
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name), 'utf8');

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

// --- Ranking ---

const listener = (port: number, processName?: string, commandLine?: string): Listener => ({
  port,
  address: '127.0.0.1',
  ...(processName ? { processName } : {}),
  ...(commandLine ? { commandLine } : {}),
});

test('categorize: dev tools, VS Code, system services', () => {
  const cases: [Listener, PortCategory][] = [
    [listener(5173, 'node', 'node /app/node_modules/.bin/vite'), 'dev-server'],
    [listener(41234, 'node', 'node /app/node_modules/.bin/vite'), 'dev-server'],
    [listener(8000, 'python3.12', 'python3.12 manage.py runserver'), 'dev-server'],
    [listener(43000, 'main', '/tmp/go-build2841/b001/exe/main'), 'dev-server'],
    [listener(3000, 'node.exe'), 'dev-server'],
    [listener(4000, 'Python'), 'dev-server'],
    [listener(80, 'caddy-unknown'), 'system'],
    [listener(443, 'node', 'node server.js'), 'dev-server'],
    [listener(22, 'node'), 'system'],
    [listener(5432, 'postgres'), 'system'],
    [listener(6379), 'system'],
    [listener(5000, 'ControlCenter'), 'system'],
    [listener(445, 'System'), 'system'],
    [listener(5040, 'svchost.exe'), 'system'],
    [listener(39001, 'node', '/home/u/.vscode-server/bin/abc/node /home/u/.vscode-server/bin/abc/out/server-main.js'), 'vscode'],
    [listener(8080, 'node', '/usr/lib/code-server/lib/node /usr/lib/code-server/out/node/entry'), 'vscode'],
    [listener(53412, 'Code Helper (Plugin)'), 'vscode'],
    [listener(49670, 'Code.exe'), 'vscode'],
    [listener(44000, 'code', '/usr/share/code/code --type=utility'), 'vscode'],
    [listener(57621, 'Spotify'), 'other'],
    [listener(47000), 'other'],
    [listener(8888), 'dev-server'],
  ];
  for (const [input, expected] of cases) assert.is(categorize(input), expected, JSON.stringify(input));
});

test('rankListeners: dev servers first, hidden ports left out unless asked, v4+v6 merged', () => {
  const ranked = rankListeners(parseLsof(fixture('macos-lsof.txt')));
  assert.equal(
    ranked.map((p) => `${p.port} ${p.processName}`),
    ['3000 node', '5173 node', '8000 Python', '8080 java', '57621 Spotify'],
  );
  assert.equal(ranked[1], { port: 5173, address: '127.0.0.1', pid: 4410, processName: 'node', category: 'dev-server', host: '127.0.0.1' });
  assert.is(ranked[0].host, '::1', 'a :: listener is reached on ::1');
  const all = rankListeners(parseLsof(fixture('macos-lsof.txt')), { includeHidden: true });
  assert.equal(
    all.map((p) => p.category),
    ['dev-server', 'dev-server', 'dev-server', 'dev-server', 'other', 'vscode', 'vscode', 'system', 'system', 'system', 'system'],
  );

  const names = parseTasklistCsv(fixture('windows-tasklist.csv'));
  const windows = rankListeners(parseNetstat(fixture('windows-netstat.txt')).map((l) => ({ ...l, processName: names.get(l.pid ?? -1) })));
  assert.equal(
    windows.map((p) => `${p.port} ${p.processName}`),
    ['3000 node.exe', '5173 node.exe', '8000 python.exe'],
  );
});

// --- Real sockets on loopback ---

const openSockets = new WeakMap<net.Server, Set<net.Socket>>();

function listen(server: net.Server, port: number, host: string): Promise<number> {
  if (!openSockets.has(server)) {
    const sockets = new Set<net.Socket>();
    openSockets.set(server, sockets);
    server.on('connection', (socket) => sockets.add(socket.once('close', () => sockets.delete(socket))));
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject).listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Closes a server without waiting for clients: a server that never reads would not notice them leave. */
function close(server: net.Server): Promise<void> {
  for (const socket of openSockets.get(server) ?? []) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server, 0, '127.0.0.1');
  await close(server);
  return port;
}

// lsof is the macOS reader; Linux has the same program, so both readers run for real here.
const sources: PortSource[] = process.platform === 'win32' ? ['netstat'] : process.platform === 'linux' ? ['proc', 'lsof'] : ['lsof'];

test(`scanPorts (${sources.join(', ')}): a listener of this process on 127.0.0.1 and ::1 is one port; a LAN one is left out`, async () => {
  const v4 = net.createServer();
  const v6 = net.createServer();
  const port = await listen(v4, 0, '127.0.0.1');
  await listen(v6, port, '::1');
  const lan = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  const lanServer = net.createServer();
  const lanPort = lan ? await listen(lanServer, 0, lan.address) : -1;
  try {
    for (const source of [...sources, ...sources]) {
      // the second round is served from the process-details cache
      const started = performance.now();
      const scan = await scanPorts({ source });
      const elapsed = performance.now() - started;
      assert.equal(scan.problems, [], source);
      const ours = scan.ports.filter((p) => p.port === port);
      assert.is(ours.length, 1, source);
      assert.is(ours[0].pid, process.pid, source);
      assert.is(ours[0].address, '127.0.0.1', source);
      assert.is(ours[0].category, 'dev-server', 'a node process');
      assert.match(ours[0].processName ?? '', /^node/, source);
      if (source !== 'netstat')
        assert.ok(ours[0].commandLine?.includes(path.basename(process.argv[1])), `${source}: ${ours[0].commandLine}`);
      assert.not.ok(
        scan.ports.some((p) => p.port === lanPort),
        `${source}: LAN-only listener`,
      );
      assert.ok(elapsed < 2000, `${source}: one scan took ${elapsed.toFixed(0)} ms`);
    }
  } finally {
    await Promise.all([close(v4), close(v6), lan ? close(lanServer) : undefined]);
  }
});

test('probeHttp: a page with a title, a raw TCP server, a silent one, a closed port, IPv6', async () => {
  const page = http.createServer((req, res) => {
    if (req.url !== '/') return res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        '<!doctype html><html><head><meta charset="utf-8">\n<title lang="en">\n  Vite   &amp; React &#8211; caf&#xe9; </title></head><body>hi</body></html>',
      );
  });
  const bigNoTitle = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: 'x'.repeat(1 << 20) })),
  );
  const garbage = net.createServer((socket) => socket.end('\x00\x01SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n'));
  const silent = net.createServer();
  const [pagePort, bigPort, garbagePort, silentPort] = await Promise.all([
    listen(page, 0, '127.0.0.1'),
    listen(bigNoTitle, 0, '127.0.0.1'),
    listen(garbage, 0, '127.0.0.1'),
    listen(silent, 0, '127.0.0.1'),
  ]);
  const v6Page = http.createServer((_req, res) => res.end('<title>v6</title>'));
  const v6Port = await listen(v6Page, 0, '::1');
  try {
    assert.equal(await probeHttp(pagePort), { status: 200, title: 'Vite & React – café' });
    assert.equal(await probeHttp(bigPort), { status: 200 }, 'reads a bounded prefix of a 1 MiB body');
    assert.is(await probeHttp(garbagePort), undefined);
    assert.is(await probeHttp(await freePort()), undefined);
    assert.equal(await probeHttp(v6Port, '::1'), { status: 200, title: 'v6' });
    const started = performance.now();
    assert.is(await probeHttp(silentPort), undefined);
    const waited = performance.now() - started;
    assert.ok(waited >= 450 && waited < 1500, `gave up on silence after ${waited.toFixed(0)} ms`);
    const labelled = await labelHttp(
      rankListeners([
        { port: pagePort, address: '127.0.0.1' },
        { port: garbagePort, address: '0.0.0.0' },
        { port: v6Port, address: '::' },
      ]),
    );
    const titles = Object.fromEntries(labelled.map((p) => [p.port, p.http?.title ?? null]));
    assert.equal(titles, { [pagePort]: 'Vite & React – café', [garbagePort]: null, [v6Port]: 'v6' });
  } finally {
    await Promise.all([page, bigNoTitle, garbage, silent, v6Page].map(close));
  }
});

test('parseHttpResponseStart: status without title, HTTP/1.0, not HTTP', () => {
  assert.equal(parseHttpResponseStart('HTTP/1.0 302 Found\r\nLocation: /login\r\n\r\n'), { status: 302 });
  assert.equal(parseHttpResponseStart('HTTP/1.1 200 OK\r\n\r\n<TITLE></TITLE>'), { status: 200 });
  assert.is(parseHttpResponseStart('-ERR unknown command'), undefined);
  assert.is(parseHttpResponseStart(''), undefined);
});

// --- Watching ---

test('PortWatcher: sees a new listener of this process, its removal, and offers it once', async () => {
  const earlier = net.createServer();
  const earlierPort = await listen(earlier, 0, '127.0.0.1');
  const watcher = new PortWatcher({ intervalMs: 10 });
  assert.is(watcher.intervalMs, PortWatcher.MIN_INTERVAL_MS, 'minimum interval enforced');
  const offers: number[] = [];
  watcher.on('likelyDevServer', (port) => offers.push(port.port));
  await watcher.ready;
  assert.ok(
    watcher.ports.some((p) => p.port === earlierPort),
    'a port listening before the watcher is listed',
  );
  assert.not.ok(offers.includes(earlierPort), 'but not offered: it was there before');
  await close(earlier);
  const events: { event: string; port: ListeningPort }[] = [];
  for (const event of ['added', 'removed', 'likelyDevServer'] as const) watcher.on(event, (port) => events.push({ event, port }));
  const problems: string[] = [];
  watcher.on('problem', (message) => problems.push(message));
  const seen = (event: string, port: number, after = 0) => events.slice(after).find((e) => e.event === event && e.port.port === port)?.port;
  const withinMs = 2 * PortWatcher.MIN_INTERVAL_MS + 1500;
  const server = net.createServer();
  try {
    const port = await listen(server, 0, '127.0.0.1');
    const added = await waitFor(() => seen('added', port), withinMs, `added ${port}`);
    assert.is(added.pid, process.pid);
    assert.ok(watcher.ports.some((p) => p.port === port));

    let mark = events.length;
    await close(server);
    const removed = await waitFor(() => seen('removed', port, mark), withinMs, `removed ${port}`);
    assert.is(removed.pid, process.pid);
    assert.not.ok(watcher.ports.some((p) => p.port === port));

    mark = events.length;
    await listen(server, port, '127.0.0.1');
    await waitFor(() => seen('added', port, mark), withinMs, `added ${port} again`);
    assert.is(events.filter((e) => e.event === 'likelyDevServer' && e.port.port === port).length, 1, 'offered once, not again on restart');
    assert.equal(problems, []);
  } finally {
    watcher.dispose();
    if (server.listening) await close(server);
  }
});

test('PortWatcher does not keep a process alive', async () => {
  const script = `const { PortWatcher } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'extension', 'ports', 'portWatcher.ts'))});
    new PortWatcher().on('added', () => {}); setTimeout(() => {}, 300);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('still running after 8 s'));
    }, 8000);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  assert.is(code, 0);
});

test.run();
