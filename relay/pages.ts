/** The relay's own pages: what a visitor sees when there is no tunnel answer to show. */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { escapeHtml } from '../core/text.js';
import { isHttp2Response, type PublicResponse } from './http2.js';

function render(title: string, message: string, hint?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)} · Porthole</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}p.hint{color:#666}footer{margin-top:3rem;color:#999;font-size:.8rem}</style></head>
<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>${hint ? `<p class="hint">${escapeHtml(hint)}</p>` : ''}
<footer>Served by a Porthole relay</footer></body></html>
`;
}

/** The page for a request head past --max-header-size, on HTTP/1.1 and HTTP/2 alike. */
export const HEADERS_TOO_LARGE = {
  title: 'Request headers too large',
  message: 'The request headers are larger than this relay accepts (--max-header-size).',
};

/** Sends one of the relay's pages, unless the response already started. */
export function sendPage(
  res: PublicResponse,
  status: number,
  title: string,
  message: string,
  hint?: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = render(title, message, hint);
  const { connection, ...rest } = headers;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...rest,
    // HTTP/2 has no Connection field (RFC 9113 §8.2.2); a stream ends alone.
    ...(connection !== undefined && !isHttp2Response(res) ? { connection } : {}),
  });
  if (res.req.method === 'HEAD') res.end();
  else res.end(body);
}

/** The same page written straight to a socket, for upgrade requests that have no ServerResponse. */
export function rawPage(
  status: number,
  reason: string,
  title: string,
  message: string,
  headers: Record<string, string> = {},
  method = 'GET',
): string {
  const body = render(title, message);
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  // A response to HEAD has no body, whatever its Content-Length says: bytes after the head would be read as the next response.
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${method === 'HEAD' ? '' : body}`;
}

/** Ends an upgrade request's socket (it has no ServerResponse) with one of the relay's pages. */
export function endWithPage(
  req: IncomingMessage,
  socket: Duplex,
  status: number,
  reason: string,
  title: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  socket.end(rawPage(status, reason, title, message, headers, req.method));
}

export function statusPage(domain: string, tunnels: number, version: string): string {
  return render(
    'Porthole relay',
    `This relay serves tunnels at *.${domain}. ${tunnels} tunnel${tunnels === 1 ? '' : 's'} connected. Version ${version}.`,
    'Share a local port with: porthole share 5173 --relay <this relay URL>',
  );
}
