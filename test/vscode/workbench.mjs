// What the UI drives do in the workbench and around it, in one place: run a command from the
// palette, wait for a count of elements, send a raw public request, find a webview's frame.
import http from 'node:http';
import { waitFor } from './rig.mjs';

export const T = { workbench: 120_000, step: 30_000, short: 10_000 };

/** F1, type the command's title, Enter. Retries while the development extension is still loading. */
export async function runCommand(page, title) {
  const input = page.locator('.quick-input-widget input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await waitFor(
    async () => {
      if (!(await input.isVisible())) await page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: T.short });
      await input.fill(`>${title}`);
      if (
        await row.waitFor({ timeout: 2000 }).then(
          () => true,
          () => false,
        )
      )
        return true;
      await page.keyboard.press('Escape'); // "No matching commands": its contributions are not registered yet
      return false;
    },
    T.workbench,
    `the command "${title}" in the command palette`,
  );
  await page.keyboard.press('Enter');
}

export async function waitForCount(locator, count, ms = T.short) {
  const deadline = Date.now() + ms;
  for (let seen = await locator.count(); seen !== count; seen = await locator.count()) {
    if (Date.now() > deadline) throw new Error(`expected ${count} of ${locator}, saw ${seen} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A public request as a script would send it: raw path, to the relay on loopback, routed by Host.
 * Resolves with the status, headers and body.
 */
export function send(publicUrl, rawPath, { method = 'GET', headers = {}, body } = {}) {
  const u = new URL(publicUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: u.port, method, path: rawPath, headers: { host: u.host, ...headers }, agent: false, timeout: 5000 },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${rawPath} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The frame (not a FrameLocator) of the webview whose page has an element matching `selector`. */
export function webviewFrame(page, selector) {
  return waitFor(
    async () => {
      for (const f of page.frames()) if (await f.$(selector).catch(() => null)) return f;
      return undefined;
    },
    T.step,
    `a webview frame with ${selector}`,
  );
}
