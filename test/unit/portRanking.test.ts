import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseLsof, parseNetstat, parseTasklistCsv, type Listener } from '../../extension/ports/portParsers.js';
import { categorize, rankListeners, type PortCategory } from '../../extension/ports/portRanking.js';
import { fixture } from './portsSupport.js';

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

test.run();
