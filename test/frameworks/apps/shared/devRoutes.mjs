// The server half of the matrix's checks for dev servers that serve a client app only (Vite,
// webpack-dev-server): a connect-style middleware, as a mock API in a dev server's config would be.
// /form takes a same-origin POST, /go redirects to an absolute URL built from the request's Host (as
// frameworks do), /session counts visits in a server-side session kept by a cookie.
import { randomUUID } from 'node:crypto';

const sessions = new Map();

const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function send(res, status, html, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(html);
}

export function devRoutes(req, res, next) {
  const url = new URL(req.url, `http://${req.headers.host}`);
  if (url.pathname === '/form' && req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const message = new URLSearchParams(body).get('message') ?? '';
      send(res, 200, page('form', `<p id="result">got: ${escapeHtml(message)}</p>`));
    });
  } else if (url.pathname === '/form') {
    send(res, 200, page('form', '<form method="post"><input name="message"><button id="submit">Send</button></form>'));
  } else if (url.pathname === '/go') {
    send(res, 302, '', { location: new URL('/landed', url).href });
  } else if (url.pathname === '/landed') {
    send(res, 200, page('landed', '<p id="landed">landed</p>'));
  } else if (url.pathname === '/session') {
    const sid = /(?:^|;\s*)sid=([\w-]+)/.exec(req.headers.cookie ?? '')?.[1];
    const session = (sid && sessions.get(sid)) || { id: randomUUID(), count: 0 };
    session.count += 1;
    sessions.set(session.id, session);
    send(res, 200, page('session', `<p id="count">${session.count}</p>`), {
      'set-cookie': `sid=${session.id}; Path=/; HttpOnly; SameSite=Lax`,
    });
  } else {
    next();
  }
}
