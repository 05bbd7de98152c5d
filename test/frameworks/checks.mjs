// The five things a visitor does with a shared dev server, in headless Chromium at the public URL.
// Every app under apps/ keeps the same contract: `/` shows #title and #hmr, `/form` posts a
// `message` and shows #result, `/go` redirects to an absolute URL of `/landed` (#landed) built from
// the request, `/session` shows #count, one more on each visit of the same session.
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './rig.mjs';

const STEP_MS = 30_000;
/** A dev server compiles a route on its first visit, slowly on a busy machine. */
const NAVIGATION_MS = 60_000;
const POLL_MS = 200;

export const CHECKS = [
  { id: 'page', title: 'page renders', run: checkPage },
  { id: 'hmr', title: 'HMR edit, no reload', run: checkHmr },
  { id: 'form', title: 'same-origin POST', run: checkForm },
  { id: 'redirect', title: 'redirect stays public', run: checkRedirect },
  { id: 'session', title: 'session cookie', run: checkSession },
];

/** Opens `path` on the share and fails on anything but a 2xx answer. */
async function open(page, url, path) {
  const response = await page.goto(new URL(path, url).href, { waitUntil: 'load', timeout: NAVIGATION_MS });
  if (!response) throw new Error(`no response for ${path}`);
  if (!response.ok()) throw new Error(`${path} answered ${response.status()}: ${await bodyStart(response)}`);
  return response;
}

/** The start of a response's body for an error message; the browser may no longer have it. */
async function bodyStart(response) {
  const body = await response.text().catch(() => '(body no longer available)');
  return body.replace(/\s+/g, ' ').slice(0, 160);
}

async function text(page, selector) {
  const element = page.locator(selector);
  await element.waitFor({ timeout: STEP_MS });
  return (await element.textContent()).trim();
}

async function checkPage({ page, url, row }) {
  await open(page, url, '/');
  const title = await text(page, '#title');
  if (!title.includes(row.title)) throw new Error(`#title reads "${title}", not "${row.title}"`);
}

/**
 * Edits the app's source the way a person would and waits for the page to show it, then checks the
 * page was patched in place: a mark left on `window` before the edit must still be there. The HMR
 * socket must have gone to the public host (a socket to localhost would "work" only on this machine).
 */
async function checkHmr({ page, url, row, app }) {
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await open(page, url, '/');
  await waitForValue(page, row.hmr.read, row.hmr.before, 'before the edit');
  await waitFor(async () => sockets.length > 0, STEP_MS, 'the HMR WebSocket to open', POLL_MS);
  // Until the client has loaded every module, an edit has nothing to update in the browser.
  await page.waitForLoadState('networkidle', { timeout: STEP_MS });
  await page.evaluate(() => {
    window.portholeMark = 'still here';
  });
  const file = path.join(app.dir, row.hmr.file);
  const source = fs.readFileSync(file, 'utf8');
  if (!source.includes(row.hmr.from)) throw new Error(`${row.hmr.file} has no "${row.hmr.from}" to edit`);
  fs.writeFileSync(file, source.replace(row.hmr.from, row.hmr.to));
  await waitForValue(page, row.hmr.read, row.hmr.after, 'after the edit');
  const mark = await page.evaluate(() => window.portholeMark).catch(() => undefined);
  if (mark !== 'still here') throw new Error('the page reloaded in full instead of taking the update');
  const publicHost = new URL(url).host;
  const elsewhere = sockets.filter((s) => new URL(s).host !== publicHost);
  if (elsewhere.length === sockets.length) throw new Error(`no WebSocket to ${publicHost}; sockets went to ${elsewhere.join(', ')}`);
}

async function waitForValue(page, read, expected, when) {
  const readValue = () =>
    page.evaluate(
      ([how]) => {
        const element = document.querySelector('#hmr');
        if (!element) return '(no #hmr)';
        return how === 'color' ? getComputedStyle(element).color : element.textContent.trim();
      },
      [read],
    );
  await waitFor(
    async () => {
      const value = await readValue();
      if (value !== expected) throw new Error(`it is "${value}"`);
      return true;
    },
    STEP_MS,
    `#hmr ${read} to be "${expected}" ${when}`,
    POLL_MS,
  );
}

async function checkForm({ page, url }) {
  await open(page, url, '/form');
  const message = `hello ${Date.now()}`;
  await page.locator('input[name=message]').fill(message);
  const submitted = page.waitForResponse((r) => r.request().method() === 'POST', { timeout: STEP_MS });
  await page.locator('#submit').click();
  const response = await submitted;
  if (response.status() >= 400) throw new Error(`the POST answered ${response.status()}: ${await bodyStart(response)}`);
  await waitFor(
    async () => {
      const result = await page.locator('#result').textContent({ timeout: 1000 });
      if (!result.includes(message)) throw new Error(`it shows ${JSON.stringify(result)}`);
      return true;
    },
    STEP_MS,
    '#result to show the message',
    POLL_MS,
  );
}

async function checkRedirect({ page, url }) {
  const hops = [];
  page.on('response', (r) => {
    if (r.status() >= 300 && r.status() < 400) hops.push(r.headers().location);
  });
  const response = await page.goto(new URL('/go', url).href, { waitUntil: 'load', timeout: NAVIGATION_MS }).catch((error) => {
    throw new Error(`${error.message.split('\n')[0]}${hops.length ? ` after Location: ${hops.join(' → ')}` : ''}`);
  });
  const landed = new URL('/landed', url).href;
  if (page.url() !== landed) throw new Error(`landed on ${page.url()} (Location: ${hops.join(' → ') || 'none'}), not ${landed}`);
  if (!response?.ok()) throw new Error(`/landed answered ${response?.status()}`);
  await text(page, '#landed');
}

async function checkSession({ page, url }) {
  await open(page, url, '/session');
  const first = Number(await text(page, '#count'));
  await page.reload({ waitUntil: 'load', timeout: NAVIGATION_MS });
  const second = Number(await text(page, '#count'));
  if (second !== first + 1) throw new Error(`the count went from ${first} to ${second} on reload: the session was not kept`);
}
