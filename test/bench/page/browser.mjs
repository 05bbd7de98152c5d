// Headless Debian Chromium, driven by playwright-core from the benchmark's tool cache: cold page
// loads measured in the page, what crossed the network seen through the DevTools protocol, and HMR
// updates timed from the edit to the page.
import fs from 'node:fs';
import { CHROMIUM, CHROMIUM_FLAGS } from '../../chromium.mjs';
import { requireTool } from './tools.mjs';

const LOAD_TIMEOUT_MS = 60_000;

/**
 * `hosts`: names Chromium resolves to 127.0.0.1 (the relay's wildcard DNS record); `trustedKey`: the
 * base64 SHA-256 of the relay certificate's public key, which Chromium then accepts as if a CA had
 * signed it (no certificate-error state, unlike --ignore-certificate-errors).
 */
export async function launchBrowser({ hosts, trustedKey }) {
  const { chromium } = requireTool('playwright-core');
  // Playwright gives the browser a throwaway profile of its own, and removes it on close.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...CHROMIUM_FLAGS,
      `--host-resolver-rules=${hosts.map((h) => `MAP ${h} 127.0.0.1`).join(',')}`,
      `--ignore-certificate-errors-spki-list=${trustedKey}`,
    ],
  });
}

/** A new page of `context` whose every request has its protocol, encoding and outcome recorded in `seen`. */
async function watchedPage(context) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const seen = { requests: 0, protocols: new Set(), encodings: new Set(), failures: [] };
  cdp.on('Network.requestWillBeSent', () => {
    seen.requests++;
  });
  cdp.on('Network.responseReceived', ({ response }) => {
    if (response.protocol) seen.protocols.add(response.protocol);
    const encoding = Object.entries(response.headers).find(([name]) => name.toLowerCase() === 'content-encoding')?.[1];
    if (encoding) seen.encodings.add(encoding);
    if (response.status >= 400) seen.failures.push(`${response.status} ${response.url}`);
  });
  cdp.on('Network.loadingFailed', ({ errorText, canceled }) => {
    if (!canceled) seen.failures.push(errorText);
  });
  await cdp.send('Network.enable');
  return { page, seen };
}

async function waitUntilRendered(page, components) {
  await page.waitForFunction((count) => document.getElementById('app')?.dataset.rendered === String(count), components, {
    timeout: LOAD_TIMEOUT_MS,
  });
  return page.evaluate(() => window.__benchReadyAt);
}

/**
 * One cold load in a fresh context (empty cache, no connections): milliseconds from navigation start
 * until the last module rendered, requests, protocols and encodings seen, and the bytes that crossed
 * the visitor's link (`counters()` of its shaper) meanwhile.
 */
export async function coldLoad(browser, { url, components, counters }) {
  const context = await browser.newContext();
  try {
    const { page, seen } = await watchedPage(context);
    const before = await counters();
    await page.goto(url, { waitUntil: 'commit', timeout: LOAD_TIMEOUT_MS });
    const ms = await waitUntilRendered(page, components);
    const after = await counters();
    if (seen.failures.length > 0) throw new Error(`loading ${url} failed: ${seen.failures.slice(0, 5).join('; ')}`);
    return {
      ms,
      requests: seen.requests,
      protocols: [...seen.protocols],
      encodings: [...seen.encodings],
      down: after.down - before.down,
      up: after.up - before.up,
    };
  } finally {
    await context.close();
  }
}

/** A page that stays open with its HMR connection, for `hmrRound`. */
export async function openForHmr(browser, url, components) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const connected = page.waitForEvent('console', { predicate: (m) => m.text().includes('[vite] connected'), timeout: LOAD_TIMEOUT_MS });
  await page.goto(url, { waitUntil: 'commit', timeout: LOAD_TIMEOUT_MS });
  await waitUntilRendered(page, components);
  await connected;
  return { page, close: () => context.close() };
}

/**
 * Writes `source` to `file` and resolves with how long each page took, in milliseconds from just
 * before the write, to show the update carrying `stamp`.
 */
export async function hmrRound(pages, file, source, stamp) {
  const editedAt = Date.now();
  fs.writeFileSync(file, source);
  return Promise.all(
    pages.map(async (page) => {
      await page.waitForFunction((s) => window.__benchHmr?.stamp === s, stamp, { timeout: 10_000, polling: 10 });
      return (await page.evaluate(() => window.__benchHmr.at)) - editedAt;
    }),
  );
}
