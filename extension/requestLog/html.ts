/**
 * The request-log page: a static shell (no request data is ever interpolated into it; rows arrive
 * later as messages and are written with textContent), a strict CSP whose only script is the
 * nonce-tagged page script loaded from the extension, and styles built from VS Code's theme variables.
 */
import { randomBytes } from 'node:crypto';
import { escapeHtml } from '../../core/text.js';
import { STATUS_FILTERS } from './format.js';

export function makeNonce(): string {
  return randomBytes(18)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
  ].join('; ');
}

const STATUS_LABELS: Record<(typeof STATUS_FILTERS)[number], string> = {
  all: 'All statuses',
  '2xx': '2xx success',
  '3xx': '3xx redirect',
  '4xx': '4xx client error',
  '5xx': '5xx server error',
  failed: 'Failed (no response)',
};

/** `scriptUri`: the page script (dist/webview/requestLog.js) as the webview may load it (`asWebviewUri`). */
export function renderShell(options: { cspSource: string; nonce: string; title: string; scriptUri: string }): string {
  const nonce = escapeHtml(options.nonce);
  const statusOptions = STATUS_FILTERS.map((s) => `<option value="${s}">${escapeHtml(STATUS_LABELS[s])}</option>`).join('');
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
  <input id="filter" type="search" placeholder="Filter by method, path or status" aria-label="Filter requests by text">
  <select id="status-filter" aria-label="Filter requests by status">${statusOptions}</select>
  <button id="clear" type="button" title="Remove every request from the log">Clear</button>
  <span id="share-status" role="status" aria-live="polite"></span>
</header>
<p id="notice" class="notice" role="alert" hidden></p>
<main class="split">
  <div class="list" role="grid" aria-label="Requests, newest first">
    <div class="head" role="row"><span role="columnheader">Time</span><span role="columnheader">Method</span><span role="columnheader">Path</span><span role="columnheader">Status</span><span role="columnheader" class="num">Duration</span><span role="columnheader" class="num">Size</span></div>
    <div id="rows" role="rowgroup"></div>
    <p id="empty" class="muted">No requests yet. Open the public URL and requests appear here as they complete.</p>
  </div>
  <section id="detail" class="detail" aria-label="Request details" hidden>
    <div class="detail-head"><h2 id="summary"></h2><button id="replay" type="button" title="Send the same request to the local server again">Replay</button></div>
    <dl id="facts"></dl>
    <h3>Request headers</h3><div id="request-headers"></div>
    <h3>Request body</h3><div id="request-body"></div>
    <h3>Response headers</h3><div id="response-headers"></div>
    <h3>Response body</h3><div id="response-body"></div>
  </section>
</main>
<script nonce="${nonce}" src="${escapeHtml(options.scriptUri)}"></script>
</body>
</html>`;
}

const STYLES = `
html, body { height: 100%; }
body { margin: 0; padding: 0; display: flex; flex-direction: column; color: var(--vscode-foreground);
  background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
.toolbar { display: flex; gap: 6px; align-items: center; padding: 6px 8px; border-bottom: 1px solid var(--vscode-panel-border); }
input, select { color: var(--vscode-input-foreground); background: var(--vscode-input-background);
  border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; font: inherit; }
input { flex: 0 1 320px; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none;
  padding: 4px 10px; font: inherit; cursor: pointer; }
button:hover:not(:disabled) { background: var(--vscode-button-hoverBackground); }
button:disabled { opacity: 0.5; cursor: default; }
:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
#share-status { margin-left: auto; color: var(--vscode-descriptionForeground); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.notice { margin: 6px 8px; padding: 4px 8px; color: var(--vscode-errorForeground);
  border: 1px solid var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground)); }
.split { flex: 1; min-height: 0; display: flex; flex-direction: column; }
.list { flex: 1 1 40%; min-height: 6em; overflow: auto; }
.head, .row { display: grid; grid-template-columns: 9.5em 6em minmax(0, 1fr) 5em 6.5em 6.5em; }
.head { position: sticky; top: 0; z-index: 1; background: var(--vscode-editor-background); font-weight: 600; color: var(--vscode-descriptionForeground); }
.head > span, .row > span { padding: 2px 8px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
/* Rows out of view skip layout and paint: a 1,000-row log stays cheap to update. */
.row { content-visibility: auto; contain-intrinsic-size: auto 1.5em; cursor: pointer; }
.num { text-align: right; }
.row .time, .row .num { font-variant-numeric: tabular-nums; color: var(--vscode-descriptionForeground); }
.row .path { font-family: var(--vscode-editor-font-family); }
.row:hover { background: var(--vscode-list-hoverBackground); }
.row[aria-selected="true"] { background: var(--vscode-list-activeSelectionBackground); color: var(--vscode-list-activeSelectionForeground); }
.row.success .status { color: var(--vscode-charts-green); }
.row.redirect .status, .row.info .status { color: var(--vscode-charts-blue); }
.row.client-error .status { color: var(--vscode-charts-yellow); }
.row.server-error .status, .row.failed .status { color: var(--vscode-errorForeground); }
.row[aria-selected="true"] > span, .row[aria-selected="true"] > .status { color: inherit; }
table.headers { border-collapse: collapse; width: 100%; }
table.headers th, table.headers td { padding: 2px 8px; text-align: left; }
.muted { color: var(--vscode-descriptionForeground); margin: 6px 8px; }
.detail { flex: 1 1 60%; overflow: auto; border-top: 1px solid var(--vscode-panel-border); padding: 4px 8px 16px; }
.detail-head { display: flex; align-items: center; gap: 12px; }
.detail h2 { font-size: 1.1em; margin: 8px 0; font-family: var(--vscode-editor-font-family); word-break: break-all; }
.detail h3 { font-size: 1em; margin: 12px 0 4px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dt { color: var(--vscode-descriptionForeground); } dd { margin: 0; word-break: break-all; }
table.headers th { width: 14em; vertical-align: top; font-weight: normal; font-family: var(--vscode-editor-font-family); }
table.headers td { white-space: normal; word-break: break-all; font-family: var(--vscode-editor-font-family); }
table.headers .muted, .detail .muted { margin: 2px 0; }
pre.body { margin: 4px 0; padding: 6px 8px; max-height: 24em; overflow: auto; white-space: pre-wrap; word-break: break-all;
  background: var(--vscode-textCodeBlock-background); font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
`;
