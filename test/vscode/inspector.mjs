// The inspector and the Porthole view, driven as a person would in the real workbench: share a
// webhook app from the Porthole view → requests arrive → search finds one by its body → edit and
// replay it (the changed header reaches the app) → compare → copy as cURL and run it with curl →
// export HAR (valid HAR 1.2) → hostile bodies render as text and run nothing → the log survives its
// panel → the view shows the share, and its QR code decodes back to the URL → shared again as a
// private link: a browser without the link is refused, with it gets in; the QR code is the link.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { lap, waitFor, workbenchUrl } from './rig.mjs';
import { runCommand, send, T, webviewFrame } from './workbench.mjs';

const project = createRequire(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../package.json'));
const { PNG } = project('pngjs');
const jsQR = project('jsqr');
const { harProblems } = project('./test/har.cjs');

const HOSTILE = {
  html: `<!doctype html><script>alert('html script')</script><img src=x onerror="alert('img onerror')"><a href="javascript:alert('link')">x</a>`,
  svg: `<svg xmlns="http://www.w3.org/2000/svg" onload="alert('svg onload')"><script>alert('svg script')</script><a href="javascript:alert('svg link')"><text y="20">x</text></a></svg>`,
};
const EVENT = { event: 'invoice.paid', data: { id: 'in_1Pq', amount: 4200, currency: 'eur', paid: true, note: null } };

/** A webhook receiver with a page, a JSON API, an image, a gzip body and hostile answers; it keeps what it saw. */
function webhookApp() {
  const png = new PNG({ width: 24, height: 24 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set(i % 96 < 48 ? [220, 40, 40, 255] : [40, 90, 220, 255], i);
  const image = PNG.sync.write(png);
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      const json = (value, headers = {}) =>
        res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
      if (req.url.startsWith('/webhooks/')) {
        let event = null;
        try {
          event = JSON.parse(body).event ?? null;
        } catch {}
        return json({ received: event, mode: req.headers['x-mode'] ?? null, bytes: Buffer.byteLength(body) });
      }
      if (req.url === '/hostile/html') return res.writeHead(200, { 'content-type': 'text/html' }).end(HOSTILE.html);
      if (req.url === '/hostile/svg') return res.writeHead(200, { 'content-type': 'image/svg+xml' }).end(HOSTILE.svg);
      if (req.url === '/hostile/headers') {
        res.setHeader('Link', `<javascript:alert('link header')>; rel=preload`);
        res.setHeader('X-Open', 'javascript:alert(document.cookie)');
        res.setHeader('Refresh', '0; url=javascript:alert(1)');
        return res.writeHead(200, { 'content-type': 'text/plain' }).end('headers only');
      }
      if (req.url === '/logo.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(image);
      if (req.url === '/api/items') {
        return res
          .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
          .end(zlib.gzipSync(JSON.stringify([{ id: 1 }, { id: 2 }])));
      }
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><html><head><title>Webhook app</title></head><body>ok</body></html>');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        seen,
        close: () => new Promise((r) => server.close(() => r(), server.closeAllConnections())),
      }),
    ),
  );
}

/** The URL in the QR code the open QR panel shows, decoded from a screenshot of it. */
async function decodeQr(page) {
  const frame = await webviewFrame(page, '#qr');
  const qr = frame.locator('#qr');
  await waitFor(() => qr.evaluate((img) => img.complete && img.naturalWidth > 0), T.short, 'the QR image');
  const shot = PNG.sync.read(await qr.screenshot());
  const decoded = jsQR(new Uint8ClampedArray(shot.data), shot.width, shot.height)?.data;
  assert.equal(await frame.locator('#url').innerText(), decoded, 'the URL under the code is the one it encodes');
  return decoded;
}

/** The tree row in the Porthole view whose accessible label starts with `label`. */
const viewRow = (page, label) => page.locator(`.monaco-list[aria-label="Porthole"] .monaco-list-row[aria-label^="${label}"]`);

/** Hovers a row of the Porthole view and clicks one of its inline actions. */
async function inlineAction(row, action) {
  const button = row.locator(`.action-label[aria-label="${action}"]`);
  // The panel may still be laying out (just opened, rows repainting): hover until the button shows.
  await waitFor(
    async () => {
      await row.hover();
      return button.isVisible();
    },
    T.short,
    `the ${action} button on a row of the Porthole view`,
  );
  await button.click();
}

export async function driveInspector(browser, server, { extensionPath, outDir }) {
  const app = await webhookApp();
  const page = await browser.context.newPage();
  const dialogs = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  const harDir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-har-'));
  try {
    await page.goto(workbenchUrl(server, { extensionPath }));
    await page.locator('.monaco-workbench').waitFor({ timeout: T.workbench });
    await runCommand(page, 'Notifications: Toggle Do Not Disturb Mode');

    // The Porthole view lists the app's port with its page title; its inline Share action shares it.
    await runCommand(page, 'Porthole: Focus on Porthole View');
    const portRow = viewRow(page, `Port ${app.port}, node · “Webhook app”`);
    await portRow.waitFor({ timeout: T.step });
    await inlineAction(portRow, 'Share Port');
    const item = page.locator('.statusbar-item', { hasText: '.localhost:' }).first();
    await item.waitFor({ timeout: T.step });
    const publicUrl = `http://${(await item.innerText()).trim()}`;
    const host = new URL(publicUrl).host;
    lap(`inspector: port ${app.port} shared from the Porthole view at ${publicUrl}`);

    const hook = () =>
      send(publicUrl, '/webhooks/stripe', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mode': 'test', 'stripe-signature': 't=1,v1=abc' },
        body: JSON.stringify(EVENT),
      });
    assert.equal((await hook()).status, 200);
    for (const p of ['/', '/hostile/html', '/hostile/svg', '/hostile/headers', '/logo.png', '/api/items'])
      assert.equal((await send(publicUrl, p)).status, 200);
    await send(publicUrl, '/webhooks/github', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'action=opened&number=7',
    });

    const shareRow = viewRow(page, `${host}:`);
    await waitFor(
      async () => /8 requests/.test((await shareRow.getAttribute('aria-label')) ?? ''),
      T.short,
      'the share row to count 8 requests',
    );
    assert.match(await shareRow.getAttribute('aria-label'), /live · Public · 8 requests/);
    lap('inspector: the Porthole view shows the share: URL, state, access preset and request count');

    await inlineAction(shareRow, 'Show Request Log');
    const log = page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
    const rows = log.locator('#rows .row');
    await rows.filter({ hasText: '/webhooks/github' }).waitFor({ timeout: T.step });
    const frame = await webviewFrame(page, '#rows');
    await frame.evaluate(() => {
      window.portholeViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => window.portholeViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });

    // Search finds the webhook by a value only its body holds, and marks it.
    await log.locator('#filter').fill('in_1pq');
    await waitFor(async () => (await rows.count()) === 1, T.short, 'the search to leave one row');
    await rows.first().click();
    await log.locator('#summary', { hasText: 'POST /webhooks/stripe → 200' }).waitFor({ timeout: T.short });
    assert.equal(await log.locator('#request-body mark').first().innerText(), 'in_1Pq');
    assert.ok((await log.locator('#request-body .tok-key').allInnerTexts()).includes('"amount"'), 'the JSON body is highlighted');
    lap('inspector: search found the webhook by its body, with the match marked');
    await page.screenshot({ path: path.join(outDir, 'inspector-search.png') });

    // Edit and Replay: the changed header reaches the app; the replay is logged and selected.
    const original = (await log.locator('#summary').innerText()).trim();
    await page.keyboard.press('e');
    await log.locator('#edit-headers').waitFor({ timeout: T.short });
    const headers = await log.locator('#edit-headers').inputValue();
    assert.match(headers, /^x-mode: test$/m);
    assert.equal(await log.locator('#edit-body').inputValue(), JSON.stringify(EVENT));
    await log.locator('#edit-headers').fill(headers.replace(/^x-mode: test$/m, 'x-mode: replayed'));
    await log.locator('#edit-body').fill(JSON.stringify({ ...EVENT, event: 'invoice.voided' }));
    const before = app.seen.length;
    await log.locator('#edit-send').click();
    const replayed = await waitFor(
      () => app.seen.slice(before).find((r) => r.url === '/webhooks/stripe'),
      T.short,
      'the replay at the app',
    );
    assert.equal(replayed.headers['x-mode'], 'replayed');
    assert.equal(JSON.parse(replayed.body).event, 'invoice.voided');
    await log.locator('#facts', { hasText: 'Replay of' }).waitFor({ timeout: T.short });
    lap('inspector: Edit and Replay sent the changed header and body to the app');

    await log.locator('#compare').click();
    const comparison = log.locator('#comparison');
    await comparison.waitFor({ timeout: T.short });
    await comparison.locator('tr.changed', { hasText: 'x-mode (changed)' }).waitFor({ timeout: T.short });
    assert.ok((await comparison.locator('.diff .del').allInnerTexts()).some((l) => l.includes('"received": "invoice.paid"')));
    assert.ok((await comparison.locator('.diff .add').allInnerTexts()).some((l) => l.includes('"received": "invoice.voided"')));
    lap('inspector: Compare shows the changed header and the response body diff');
    await page.screenshot({ path: path.join(outDir, 'inspector-compare.png') });

    // Copy as cURL of the original, run by curl against the share: the same response.
    await log.locator('#filter').fill('');
    const originalRow = rows.filter({ hasText: '/webhooks/stripe' }).filter({ hasNotText: '↻' });
    await originalRow.click();
    await log.locator('#summary', { hasText: original }).waitFor({ timeout: T.short });
    await log.locator('#copy-curl').click();
    await log.locator('#notice', { hasText: 'Copied a curl command' }).waitFor({ timeout: T.short });
    await page.bringToFront();
    const command = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(command, /^curl /);
    const fromCurl = await promisify(execFile)('bash', ['-c', `${command} --silent --show-error`], { timeout: 10_000 });
    const logged = JSON.parse(await log.locator('#response-body').innerText());
    assert.deepEqual(JSON.parse(fromCurl.stdout), logged);
    assert.deepEqual(JSON.parse(fromCurl.stdout), { received: 'invoice.paid', mode: 'test', bytes: JSON.stringify(EVENT).length });
    const atApp = app.seen[app.seen.length - 1];
    assert.equal(atApp.headers['stripe-signature'], 't=1,v1=abc');
    assert.equal(atApp.body, JSON.stringify(EVENT));
    lap('inspector: Copy as cURL, run by curl against the share, got the same response');

    // Export HAR through VS Code's save dialog.
    const harFile = path.join(harDir, 'requests.har');
    await log.locator('#export-har').click();
    const pathInput = page.locator('.quick-input-widget input');
    await pathInput.waitFor({ state: 'visible', timeout: T.step });
    // The dialog fills in its proposal (the workspace folder and a dated name) first; replace it once it is there.
    await waitFor(async () => (await pathInput.inputValue()).endsWith('.har'), T.short, 'the save dialog to propose a file name');
    await pathInput.fill(harFile);
    await waitFor(async () => (await pathInput.inputValue()) === harFile, T.short, 'the typed path in the save dialog');
    const ok = page.locator('.quick-input-widget .monaco-button', { hasText: /^OK$/ });
    await ok.click();
    let pressed = Date.now();
    // VS Code's own dialog can stay open after OK with the path still in it (seen under load in npm test;
    // its check of the path is its own business). A person presses OK again, and so does this, every 2 s
    // while the dialog is open; the extension's part starts once it closes.
    let pressedAgain = 0;
    await waitFor(
      async () => {
        if (fs.existsSync(harFile) && fs.statSync(harFile).size > 0) return true;
        if (Date.now() - pressed >= 2000 && (await ok.isVisible())) {
          pressedAgain++;
          pressed = Date.now();
          await ok.click({ timeout: 2000 }).catch(() => undefined);
        }
        return false;
      },
      T.step,
      `the HAR file ${harFile}`,
      200,
    );
    if (pressedAgain > 0) lap(`inspector: the save dialog stayed open after OK; pressed it ${pressedAgain} more time(s)`);
    const har = JSON.parse(
      await waitFor(
        () => fs.readFileSync(harFile, 'utf8').trim().endsWith('}') && fs.readFileSync(harFile, 'utf8'),
        T.short,
        'the whole HAR',
      ),
    );
    assert.deepEqual(harProblems(har), []);
    assert.equal(har.log.entries.length, 10, 'the eight requests, the replay, and the request curl sent');
    const webhook = har.log.entries.find((e) => e.request.url === `${publicUrl}/webhooks/stripe` && !e.comment);
    assert.equal(webhook.request.postData.text, JSON.stringify(EVENT));
    lap(`inspector: Export HAR saved ${har.log.entries.length} requests as valid HAR 1.2`);

    // Hostile bodies and headers are text: nothing runs, no element is made from them.
    for (const p of ['/hostile/html', '/hostile/svg', '/hostile/headers']) {
      await rows.filter({ has: log.locator('.path', { hasText: new RegExp(`^${p}$`) }) }).click();
      await log.locator('#summary', { hasText: `GET ${p} → 200` }).waitFor({ timeout: T.short });
      // Every view of the body, so each way of showing it is exercised.
      for (const view of ['Raw', 'Hex', 'Pretty']) {
        const button = log.locator(`#response-side .views button[data-view="${view.toLowerCase()}"]`);
        if (await button.isVisible()) await button.click();
      }
    }
    await log.locator('#response-headers td', { hasText: "javascript:alert('link header')" }).waitFor({ timeout: T.short });
    await rows.filter({ hasText: '/logo.png' }).click();
    const picture = log.locator('#response-body img');
    await picture.waitFor({ timeout: T.short });
    assert.equal(await picture.evaluate((img) => img.naturalWidth), 24, 'the PNG is shown as an image');
    const dom = await frame.evaluate(() => ({
      // The webview host's own bridge (acquireVsCodeApi), injected inline, and the page script; nothing else.
      scripts: [...document.scripts].map((script) =>
        script.src
          ? script.src.split('/').pop()
          : script.textContent.includes('globalThis.acquireVsCodeApi =')
            ? 'VS Code webview API'
            : script.textContent.slice(0, 80),
      ),
      handlers: [...document.querySelectorAll('*')].flatMap((e) =>
        [...e.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name),
      ),
      links: document.querySelectorAll('a, iframe, object, embed, svg, form[action]').length,
      images: [...document.images].map((i) => i.src.slice(0, 22)),
      violations: window.portholeViolations,
    }));
    assert.deepEqual(dom, {
      scripts: ['VS Code webview API', 'requestLog.js'],
      handlers: [],
      links: 0,
      images: ['data:image/png;base64,'],
      violations: [],
    });
    assert.deepEqual(dialogs, [], 'nothing from a request opened a dialog');
    lap('inspector: hostile HTML, SVG and javascript: headers shown as text; nothing ran; the PNG shown as an image');

    // The log lives with the share: closing and reopening its panel loses nothing.
    await runCommand(page, 'View: Close Editor');
    await waitFor(async () => (await page.locator('iframe.webview').count()) === 0, T.short, 'the request log to close');
    await runCommand(page, 'Porthole: Show Request Log');
    await rows.filter({ hasText: '/webhooks/github' }).waitFor({ timeout: T.step });
    assert.equal(await rows.count(), 10);
    await runCommand(page, 'View: Hide Panel');
    await rows.filter({ hasText: '/webhooks/stripe' }).last().click(); // the first webhook, at the bottom
    await log.locator('#summary', { hasText: original }).waitFor({ timeout: T.short });
    await page.locator('.part.editor').screenshot({ path: path.join(outDir, 'inspector.png') });
    lap('inspector: the log survived closing and reopening its panel');

    // The QR code of the share, decoded back from a screenshot of the panel that shows it.
    await runCommand(page, 'Porthole: Focus on Porthole View');
    await inlineAction(shareRow, 'Show QR Code');
    assert.equal(await decodeQr(page), publicUrl);
    await page.locator('.part.editor').screenshot({ path: path.join(outDir, 'qr-code.png') });
    await page.locator('.part.panel').screenshot({ path: path.join(outDir, 'porthole-view.png') });
    lap(`inspector: the QR code decodes to ${publicUrl}`);

    // Set the share private: stop it from the view, share the port again with "Private link".
    await inlineAction(shareRow, 'Stop Sharing');
    await waitFor(async () => (await item.count()) === 0, T.short, 'the share to stop');
    await runCommand(page, 'Porthole: Share Port');
    const portInput = page.locator('.quick-input-widget input[placeholder*="listening port"]');
    await portInput.waitFor({ state: 'visible', timeout: T.step });
    await portInput.fill(String(app.port));
    await page
      .locator('.quick-input-list .monaco-list-row', { hasText: `Share http://localhost:${app.port}` })
      .waitFor({ timeout: T.short });
    await page.keyboard.press('Enter');
    const who = page.locator('.quick-input-widget input[placeholder="Who can open it?"]');
    await who.waitFor({ state: 'visible', timeout: T.step });
    await who.fill('Private link');
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'Private link' }).waitFor({ timeout: T.short });
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: 'open paths' }).waitFor({ timeout: T.short });
    await page.keyboard.press('Enter'); // no open paths
    await item.waitFor({ timeout: T.step });
    const privateUrl = `http://${(await item.innerText()).trim()}`;
    const privateRow = viewRow(page, `${new URL(privateUrl).host}:`);
    await privateRow.waitFor({ timeout: T.short });
    assert.match(await privateRow.getAttribute('aria-label'), / · live · Private link · /);

    const stranger = await browser.context.newPage();
    try {
      const refused = await stranger.goto(`${privateUrl}/`, { timeout: T.step });
      assert.equal(refused.status(), 403, 'a browser without the link is refused');
      assert.match(await stranger.locator('body').innerText(), /private/i);
      await inlineAction(privateRow, 'Copy Private Link');
      await page.bringToFront();
      const link = await waitFor(
        async () => {
          const text = await page.evaluate(() => navigator.clipboard.readText());
          return text.startsWith(`${privateUrl}/?porthole_key=`) && text;
        },
        T.short,
        'the private link in the clipboard',
      );
      const admitted = await stranger.goto(link, { timeout: T.step });
      assert.equal(admitted.status(), 200, 'with the link the browser gets in');
      assert.equal(await stranger.title(), 'Webhook app');
      assert.equal(stranger.url(), `${privateUrl}/`, 'and the key left the address bar');
      assert.equal((await send(privateUrl, '/')).status, 403, 'a client without the cookie is still refused');
      await inlineAction(privateRow, 'Show QR Code');
      assert.equal(await decodeQr(page), link, "a private share's QR code is its link");
    } finally {
      await stranger.close();
    }
    lap('inspector: shared private: refused without the link, admitted with it; its QR code is the link');

    await runCommand(page, 'Porthole: Stop Sharing');
    await waitFor(async () => (await item.count()) === 0, T.short, 'the share to stop');
    await runCommand(page, 'Notifications: Toggle Do Not Disturb Mode');
  } catch (error) {
    const failure = path.join(outDir, 'inspector-failure.png');
    await page.screenshot({ path: failure }).then(
      () => console.error(`inspector failure screenshot: ${failure}`),
      () => undefined,
    );
    throw error;
  } finally {
    await page.close();
    await app.close();
    fs.rmSync(harDir, { recursive: true, force: true });
  }
}
