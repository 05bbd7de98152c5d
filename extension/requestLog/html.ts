/**
 * The request-log page: a static shell (no request data is ever interpolated into it; rows arrive
 * later as messages and are written with textContent), a strict CSP whose only script is the
 * nonce-tagged page script loaded from the extension, and styles built from VS Code's theme variables.
 */
import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../../core/text.js';
import { METHOD_FILTERS, STATUS_FILTERS, TYPE_FILTERS } from './filter.js';
import { STYLES } from './styles.js';

export function makeNonce(): string {
  return randomBytes(18)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '');
}

/** Images (a captured PNG, JPEG…) only as data: URLs the page makes itself; never a script but the nonce-tagged one. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    'img-src data:',
  ].join('; ');
}

const FILTER_LABELS: Record<string, string> = {
  all: 'All',
  '2xx': '2xx success',
  '3xx': '3xx redirect',
  '4xx': '4xx client error',
  '5xx': '5xx server error',
  failed: 'Failed (no response)',
  other: 'Other methods',
  json: 'JSON',
  form: 'Form data',
  html: 'HTML',
  xml: 'XML, SVG',
  text: 'Other text',
  image: 'Images',
  binary: 'Binary',
  none: 'No body',
};

function select(id: string, label: string, all: string, values: readonly string[]): string {
  const options = values.map((v) => `<option value="${v}">${escapeHtml(v === 'all' ? all : (FILTER_LABELS[v] ?? v))}</option>`);
  return `<select id="${id}" aria-label="${escapeHtml(label)}" title="${escapeHtml(label)}">${options.join('')}</select>`;
}

/** One side of the exchange (request or response): its first line, headers, and body with its views. */
function side(name: 'request' | 'response', title: string): string {
  return `<section class="side" id="${name}-side" aria-labelledby="${name}-title">
  <h3 id="${name}-title">${title}</h3>
  <p class="line" id="${name}-line"></p>
  <h4>Headers</h4><div id="${name}-headers"></div>
  <div class="body-head"><h4>Body</h4>
    <div class="views" role="group" aria-label="${title} body view">
      <button type="button" data-side="${name}" data-view="pretty" aria-pressed="true" title="Highlighted (JSON indented, form fields a line each)">Pretty</button>
      <button type="button" data-side="${name}" data-view="raw" aria-pressed="false" title="The text as sent">Raw</button>
      <button type="button" data-side="${name}" data-view="hex" aria-pressed="false" title="The bytes">Hex</button>
      <button type="button" data-side="${name}" data-view="image" aria-pressed="false" title="The image">Image</button>
    </div>
  </div>
  <p class="muted" id="${name}-body-summary"></p>
  <p class="cut" id="${name}-body-cut" role="note" hidden></p>
  <div class="body" id="${name}-body" tabindex="0" role="region" aria-label="${title} body"></div>
</section>`;
}

const EDITOR = `<form id="editor" class="editor" aria-label="Edit and replay" hidden>
  <h3>Edit and Replay</h3>
  <div class="edit-line">
    <label>Method <input id="edit-method" size="8" spellcheck="false" autocomplete="off"></label>
    <label class="grow">Path <input id="edit-path" spellcheck="false" autocomplete="off"></label>
  </div>
  <label><span>Headers, one <code>Name: value</code> a line (Content-Length is set from the body)</span>
    <textarea id="edit-headers" rows="8" spellcheck="false"></textarea></label>
  <label><span>Body</span> <textarea id="edit-body" rows="8" spellcheck="false"></textarea></label>
  <p class="muted" id="edit-body-note" hidden></p>
  <div class="edit-actions"><button type="submit" id="edit-send">Send</button><button type="button" id="edit-cancel" class="secondary">Cancel</button></div>
</form>`;

/** `scriptUri`: the page script (dist/webview/requestLog.js) as the webview may load it (`asWebviewUri`). */
export function renderShell(options: { cspSource: string; nonce: string; title: string; scriptUri: string }): string {
  const nonce = escapeHtml(options.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(options.cspSource, options.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(options.title)}</title>
<style nonce="${nonce}">${STYLES}</style>
</head>
<body>
<header class="toolbar">
  <input id="filter" type="search" placeholder="Search method, path, status, headers, bodies ( / )" aria-label="Search requests: method, path, status, headers and bodies" aria-keyshortcuts="/">
  ${select('status-filter', 'Filter by status', 'All statuses', STATUS_FILTERS)}
  ${select('method-filter', 'Filter by method', 'All methods', METHOD_FILTERS)}
  ${select('type-filter', 'Filter by content type (request or response body)', 'All content types', TYPE_FILTERS)}
  <button id="clear" type="button" class="secondary" title="Remove every request from the log">Clear</button>
  <button id="export-har" type="button" class="secondary" title="Save the requests listed now as a HAR 1.2 file">Export HAR…</button>
  <span id="share-status" role="status" aria-live="polite"></span>
</header>
<p id="notice" class="notice" role="alert" hidden></p>
<main class="split">
  <div class="list" role="grid" aria-label="Requests, newest first. Arrow keys move; R replays, E edits, C copies as cURL, D compares.">
    <div class="head" role="row"><span role="columnheader">Time</span><span role="columnheader">Method</span><span role="columnheader">Path</span><span role="columnheader">Status</span><span role="columnheader" class="num">Duration</span><span role="columnheader" class="num">Size</span></div>
    <div id="rows" role="rowgroup"></div>
    <p id="empty" class="muted">No requests yet. Open the public URL and requests appear here as they complete.</p>
  </div>
  <section id="detail" class="detail" aria-label="Request details" hidden>
    <div class="detail-head"><h2 id="summary"></h2>
      <div class="actions" role="toolbar" aria-label="Actions on this request">
        <button id="replay" type="button" title="Send the same request to the local server again (R)" aria-keyshortcuts="R">Replay</button>
        <button id="edit" type="button" title="Change method, path, headers or body, then send (E)" aria-keyshortcuts="E">Edit and Replay…</button>
        <button id="compare" type="button" class="secondary" title="Compare this replay with the request it replays (D)" aria-keyshortcuts="D" hidden>Compare with Original</button>
        <button id="copy-curl" type="button" class="secondary" title="Copy a curl command that sends this request to the public URL (C)" aria-keyshortcuts="C">Copy as cURL</button>
      </div>
    </div>
    <dl id="facts"></dl>
    ${EDITOR}
    <section id="comparison" class="comparison" aria-label="Comparison with the original request" tabindex="-1" hidden></section>
    <div class="sides">
${side('request', 'Request')}
${side('response', 'Response')}
    </div>
  </section>
</main>
<script nonce="${nonce}" src="${escapeHtml(options.scriptUri)}"></script>
</body>
</html>`;
}
