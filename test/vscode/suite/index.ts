/**
 * Extension-host suite: runs inside a real VS Code (code-server here, or the desktop build through
 * @vscode/test-electron) and drives Porthole's commands through the API against real local HTTP
 * servers, the embedded relay, and a relay that wants a token. Exports `run()`, the contract both
 * runners share; it rejects when any test fails.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as vscode from 'vscode';
import type { PortholeApi } from '../../../extension/extension.js';
import type { Share } from '../../../extension/share.js';
import { startRelay } from '../../../relay/server.js';

const EXTENSION_ID = 'porthole.porthole-tunnel';
const tests: [string, () => Promise<void>][] = [];
const test = (name: string, fn: () => Promise<void>) => tests.push([name, fn]);
let api: PortholeApi;

const config = () => vscode.workspace.getConfiguration('porthole');
/** User settings as they were before the suite, put back at the end (the UI drive shares the profile). */
const original = new Map<string, unknown>();
const setSetting = (key: string, value: unknown) => {
  if (!original.has(key)) original.set(key, config().inspect(key)?.globalValue);
  return config().update(key, value, vscode.ConfigurationTarget.Global);
};

async function origin(text: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>${text}</title><p>${text} ${req.method} ${req.url}</p>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

/** A public request to a tunnel URL: sent to the relay on loopback, routed by Host. */
function get(url: string, path = '/', auth?: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const headers: Record<string, string> = { host: u.host };
  if (auth) headers.authorization = `Basic ${Buffer.from(auth).toString('base64')}`;
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: u.port, path, headers, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}${path} timed out`)));
    req.on('error', reject);
  });
}

async function eventually<T>(what: string, check: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const shareOf = (url: string): Share => {
  const share = api.manager.shares.find((s) => s.url === url);
  assert.ok(share, `a share for ${url}`);
  return share;
};

test('activates and registers every command', async () => {
  const extension = vscode.extensions.getExtension<PortholeApi>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is installed`);
  api = await extension.activate();
  assert.ok(api.manager, 'activate() returns the API');
  const commands = await vscode.commands.getCommands(true);
  for (const id of ['sharePort', 'stopSharing', 'copyPublicUrl', 'copyPrivateLink', 'openPublicUrl', 'showRequestLog', 'setRelayToken']) {
    assert.ok(commands.includes(`porthole.${id}`), `porthole.${id} registered`);
  }
  await setSetting('embeddedRelayPort', 0);
  await setSetting('notifyOnNewPort', false);
});

test('Share Port shares a real server through the embedded relay; status bar, log and copy follow', async () => {
  const app = await origin('suite page');
  try {
    const url = await vscode.commands.executeCommand<string>('porthole.sharePort', String(app.port));
    assert.match(url, /^http:\/\/[a-z0-9-]+\.localhost:\d+$/);
    const share = shareOf(url);
    assert.equal(api.statusBar.textOf(share), `$(radio-tower) ${new URL(url).host}`);

    const page = await get(url, '/hello?from=suite');
    assert.equal(page.status, 200);
    assert.match(page.body, /suite page GET \/hello\?from=suite/);
    const entry = await eventually('the request in the log', () => share.log.entries().find((e) => e.record.path === '/hello?from=suite'));
    assert.equal(entry.record.status, 200);
    assert.equal(share.status.requests, 1);

    assert.equal(await vscode.commands.executeCommand('porthole.copyPublicUrl', url), url);
    assert.equal(await vscode.env.clipboard.readText(), url, 'the clipboard holds the URL');

    const replayed = await share.replay(entry.seq);
    assert.equal(replayed.record.replayOf, entry.record.id);
    assert.equal(replayed.record.status, 200);

    assert.equal(await vscode.commands.executeCommand('porthole.showRequestLog', url), true);
    const tab = await eventually('the request-log tab', () =>
      vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('porthole.requestLog')),
    );
    assert.equal(tab.label, `Requests :${app.port}`);

    assert.equal(await vscode.commands.executeCommand('porthole.stopSharing', url), true);
    assert.equal(api.manager.shares.length, 0);
    assert.equal(api.statusBar.textOf(share), undefined, 'its status item is gone');
    await assert.rejects(get(url), /ECONNREFUSED/, 'the embedded relay stops with the last share');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  } finally {
    await app.close();
  }
});

test('several ports at once, one with a password', async () => {
  const [a, b] = await Promise.all([origin('page a'), origin('page b')]);
  try {
    const open = await vscode.commands.executeCommand<string>('porthole.sharePort', `http://127.0.0.1:${a.port}`);
    const locked = await vscode.commands.executeCommand<string>('porthole.sharePort', { target: b.port, basicAuth: 'alice:s3cret-pw' });
    assert.notEqual(open, locked);
    assert.equal(api.manager.shares.length, 2);
    assert.match((await get(open)).body, /page a/);
    assert.equal((await get(locked)).status, 401, 'no password: refused');
    assert.equal((await get(locked, '/', 'alice:wrong')).status, 401, 'wrong password: refused');
    assert.match((await get(locked, '/', 'alice:s3cret-pw')).body, /page b/);
    assert.ok(api.statusBar.textOf(shareOf(locked))?.startsWith('$(lock) '), 'the protected share shows a lock');
    await vscode.commands.executeCommand('porthole.stopSharing', String(a.port));
    assert.equal(api.manager.shares.length, 1);
    assert.equal((await get(open)).status, 404, 'the stopped name is free at once');
    assert.match((await get(locked, '/', 'alice:s3cret-pw')).body, /page b/, 'the other share keeps working');
    await vscode.commands.executeCommand('porthole.stopSharing', locked);
    assert.equal(api.manager.shares.length, 0);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('Share Port asks “Who can open it?”: a private link, remembered for the port, copied from the menu', async () => {
  const app = await origin('private page');
  /** Runs the share command as the palette does, then answers its quick picks through the workbench's own commands. */
  const shareAsking = async (...steps: string[]) => {
    const url = vscode.commands.executeCommand<string | undefined>('porthole.sharePort', { target: app.port, askAccess: true });
    for (const step of steps) {
      await new Promise((r) => setTimeout(r, 1000)); // the quick input takes a moment to open; nothing says when it has
      await vscode.commands.executeCommand(step);
    }
    return url;
  };
  const next = 'workbench.action.quickOpenSelectNext';
  const accept = 'workbench.action.acceptSelectedQuickOpenItem';
  try {
    // Public, Password, Private link: two down; then the open paths, left empty.
    const url = await shareAsking(next, next, accept, accept);
    assert.ok(url, 'shared');
    const share = shareOf(url);
    assert.equal(share.access.preset, 'private');
    assert.equal(share.access.label, 'Private link');
    assert.ok(api.statusBar.textOf(share)?.startsWith('$(key) '), 'the status bar shows a key');
    const link = share.link!;
    assert.match(link, new RegExp(`^${url}/\\?porthole_key=[\\w-]{32}$`));
    assert.equal((await get(url)).status, 403, 'without the link: refused');
    assert.equal(await vscode.commands.executeCommand('porthole.copyPrivateLink', url), link);
    assert.equal(await vscode.env.clipboard.readText(), link, 'the clipboard holds the private link');
    const visit = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http
        .get(
          {
            host: '127.0.0.1',
            port: new URL(url).port,
            path: `/${new URL(link).search}`,
            headers: { host: new URL(url).host },
            agent: false,
          },
          resolve,
        )
        .on('error', reject),
    );
    visit.resume();
    assert.equal(visit.statusCode, 303, 'the link redirects');
    const cookie = String(visit.headers['set-cookie']?.[0]).split(';')[0];
    const inside = await new Promise<{ status: number; body: string }>((resolve, reject) =>
      http
        .get(
          { host: '127.0.0.1', port: new URL(url).port, path: '/', headers: { host: new URL(url).host, cookie }, agent: false },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        )
        .on('error', reject),
    );
    assert.equal(inside.status, 200);
    assert.match(inside.body, /private page/);
    await vscode.commands.executeCommand('porthole.stopSharing', url);

    // Shared again: the port's last choice is the one in line, so accepting keeps it.
    const again = await shareAsking(accept, accept);
    assert.ok(again, 'shared again');
    assert.equal(shareOf(again).access.preset, 'private', 'the choice was remembered for this port');
    await vscode.commands.executeCommand('porthole.stopSharing', again);

    const open = await vscode.commands.executeCommand<string>('porthole.sharePort', String(app.port));
    assert.equal(shareOf(open).access.preset, 'public', 'a port given as an argument is shared as asked: public');
    assert.equal(await vscode.commands.executeCommand('porthole.copyPrivateLink', open), undefined, 'a public share has no link');
    await vscode.commands.executeCommand('porthole.stopSharing', open);
  } finally {
    await api.manager.stopAll();
    await app.close();
  }
});

test('a refused name shows as an error in the status bar until dismissed', async () => {
  const app = await origin('refused');
  await setSetting('subdomain', 'Not_A_Name');
  try {
    const url = await vscode.commands.executeCommand<string | undefined>('porthole.sharePort', String(app.port));
    assert.equal(url, undefined);
    const [share] = api.manager.shares;
    assert.ok(share && share.state.status === 'failed', 'listed as failed');
    assert.equal(share.state.error.code, 'invalid-name');
    assert.match(api.statusBar.textOf(share) ?? '', /^\$\(error\) Porthole :\d+: invalid name$/);
    await vscode.commands.executeCommand('porthole.stopSharing', String(app.port));
    assert.equal(api.manager.shares.length, 0);
  } finally {
    await setSetting('subdomain', undefined);
    await app.close();
  }
});

test('a relay that wants a token: refused, then Set Relay Token stores it and the share comes up', async () => {
  const app = await origin('token page');
  const relay = await startRelay({ config: { httpPort: 0, tokens: ['team-token-1'] }, log: () => undefined });
  await setSetting('relayUrl', relay.url);
  try {
    assert.equal(await vscode.commands.executeCommand('porthole.sharePort', String(app.port)), undefined);
    const [share] = api.manager.shares;
    assert.ok(share && share.state.status === 'failed' && share.state.error.code === 'token', 'refused for its token');
    assert.match(api.statusBar.textOf(share) ?? '', /wrong token/);

    assert.equal(await vscode.commands.executeCommand('porthole.setRelayToken', 'team-token-1'), true);
    const retried = await eventually(
      'the retried share to be live',
      () => api.manager.shares.find((s) => s.state.status === 'live'),
      10_000,
    );
    assert.equal(retried.status.relay, relay.url);
    assert.equal(retried.status.relayEmbedded, false);
    assert.match((await get(retried.url!)).body, /token page/);
    await vscode.commands.executeCommand('porthole.stopSharing', retried.url);
  } finally {
    await setSetting('relayUrl', undefined);
    await relay.close(0);
    await app.close();
  }
});

test('the Porthole view lists a share, Show QR Code opens its panel, and captureBytes reaches running shares', async () => {
  const app = await origin('view page');
  try {
    const url = await vscode.commands.executeCommand<string>('porthole.sharePort', String(app.port));
    const share = shareOf(url);
    const [sharesGroup] = api.view.getChildren();
    assert.ok(api.view.getChildren(sharesGroup).includes(share), 'the share is a row of the view');
    const item = api.view.getTreeItem(share);
    assert.equal(item.label, new URL(url).host);
    assert.match(String(item.description), new RegExp(`^:${app.port} · live · Public · 0 requests$`));
    assert.equal(item.contextValue, 'porthole.share.live');

    assert.equal(await vscode.commands.executeCommand('porthole.showQrCode', share.id), true);
    await eventually('the QR code tab', () =>
      vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('porthole.qrCode')),
    );

    await setSetting('requestLog.captureBytes', 16);
    await eventually('the new capture size on the running share', () => share.agent.captureBytes === 16);
    await get(url, '/a-path-longer-than-sixteen-bytes');
    const entry = await eventually('the request in the log', () => share.log.entries().find((e) => e.record.path.startsWith('/a-path')));
    assert.equal(entry.record.responseBody.length, 16);
    assert.ok(entry.record.responseBodyTruncated, 'the cut is marked');
    await vscode.commands.executeCommand('porthole.stopSharing', url);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  } finally {
    await setSetting('requestLog.captureBytes', undefined);
    await app.close();
  }
});

test('a mistyped target is refused without starting anything', async () => {
  assert.equal(await vscode.commands.executeCommand('porthole.sharePort', 'not a port'), undefined);
  assert.equal(api.manager.shares.length, 0);
});

export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const [name, fn] of tests) {
    const started = Date.now();
    try {
      await fn();
      console.log(`  ok   ${name} (${Date.now() - started} ms)`);
    } catch (error) {
      failures.push(name);
      console.error(`  FAIL ${name}\n${(error as Error).stack ?? String(error)}`);
      if (name.startsWith('activates')) break; // nothing else can run without the API
    }
  }
  await api?.manager.stopAll();
  for (const [key, value] of original) await config().update(key, value, vscode.ConfigurationTarget.Global);
  console.log(`${tests.length - failures.length}/${tests.length} extension-host tests passed`);
  if (failures.length > 0) throw new Error(`${failures.length} extension-host test(s) failed: ${failures.join('; ')}`);
}
