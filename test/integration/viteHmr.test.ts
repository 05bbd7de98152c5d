/**
 * Vite HMR through an HTTPS share, as a visitor meets it: a real Vite dev server (from the page
 * benchmark's tool cache, outside the project's dependencies), the relay over TLS, `porthole share`,
 * and headless Chromium, which loads the page over HTTP/2 and opens Vite's HMR WebSocket as an
 * RFC 8441 stream of the same connection. An edit to a module must show in the page without a reload.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, waitFor } from '../helpers';
import { DOMAIN, makeCertificate, shareOverTls, tlsRelay } from '../tlsRelay';

interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Page {
  goto(url: string, options: { waitUntil: string; timeout: number }): Promise<unknown>;
  evaluate<T>(fn: () => T): Promise<T>;
  textContent(selector: string): Promise<string | null>;
  on(event: 'websocket', listener: (ws: { url(): string }) => void): void;
}

/** A two-module app: main.js renders the message that message.js exports, and accepts its updates. */
function writeApp(dir: string): void {
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><p id="message"></p><script type="module" src="/main.js"></script>\n');
  fs.writeFileSync(
    path.join(dir, 'main.js'),
    `import { message } from './message.js';
const show = (text) => { document.getElementById('message').textContent = text; };
show(message);
if (import.meta.hot) import.meta.hot.accept('./message.js', (next) => show(next.message));
`,
  );
  fs.writeFileSync(path.join(dir, 'message.js'), "export const message = 'before the edit';\n");
}

async function startVite(dir: string, cache: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(cache, 'node_modules/vite/bin/vite.js'), '--port', String(port), '--strictPort'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined))?.ok,
    30_000,
    `Vite to serve the app (it said: ${output.slice(-500)})`,
  );
  return { port, child };
}

test('an edit to a module reaches a page opened through an HTTPS share over HTTP/2, without a reload', async () => {
  // ES modules shared with the page benchmark (this file is CommonJS for uvu and tsx).
  const { CACHE, ensureTools, requireTool } = await import('../bench/page/tools.mjs');
  const { CHROMIUM, CHROMIUM_FLAGS } = await import('../chromium.mjs');
  ensureTools((text) => console.log(`  · ${text}`));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-vite-'));
  writeApp(dir);
  const certificate = makeCertificate();
  const vite = await startVite(dir, CACHE);
  const relay = await tlsRelay(certificate);
  const share = await shareOverTls(relay, certificate, vite.port, ['--subdomain', 'vite']);
  const spki = new crypto.X509Certificate(certificate.pem).publicKey.export({ type: 'spki', format: 'der' });
  const { chromium } = requireTool('playwright-core') as { chromium: { launch(options: object): Promise<Browser> } };
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...CHROMIUM_FLAGS,
      `--host-resolver-rules=MAP *.${DOMAIN} 127.0.0.1`,
      `--ignore-certificate-errors-spki-list=${crypto.createHash('sha256').update(spki).digest('base64')}`,
    ],
  });
  try {
    const page = await browser.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${share.url}/`, { waitUntil: 'load', timeout: 30_000 });
    assert.is(
      await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol),
      'h2',
    );
    await waitFor(async () => (await page.textContent('#message')) === 'before the edit', 15_000, 'the page to render');
    await waitFor(() => sockets.length > 0, 15_000, 'the HMR WebSocket to open');
    assert.match(sockets[0], `wss://${share.host}/`, 'the HMR socket goes to the public host');
    await page.evaluate(() => {
      (window as unknown as { mark: string }).mark = 'not reloaded';
    });
    fs.writeFileSync(path.join(dir, 'message.js'), "export const message = 'after the edit';\n");
    await waitFor(async () => (await page.textContent('#message')) === 'after the edit', 15_000, 'the edit to show in the page');
    assert.is(await page.evaluate(() => (window as unknown as { mark?: string }).mark), 'not reloaded', 'the module was replaced in place');
  } finally {
    await browser.close();
    await share.stop();
    await relay.close(0);
    vite.child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
