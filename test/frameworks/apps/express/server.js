// An Express app as it runs behind a reverse proxy in production: `trust proxy` so that
// X-Forwarded-Proto makes the request secure, and a session cookie marked Secure.
import express from 'express';
import session from 'express-session';

const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
const escapeHtml = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

const app = express();
app.set('trust proxy', 1);
app.use(
  session({ secret: 'porthole-matrix', resave: false, saveUninitialized: true, cookie: { secure: true, httpOnly: true, sameSite: 'lax' } }),
);
app.use(express.urlencoded({ extended: false }));

app.get('/', (_req, res) => res.send(page('Express', '<h1 id="title">Porthole × Express</h1>')));
app.get('/form', (_req, res) =>
  res.send(page('form', '<form method="post"><input name="message"><button id="submit">Send</button></form>')),
);
app.post('/form', (req, res) => res.send(page('form', `<p id="result">got: ${escapeHtml(req.body.message)}</p>`)));
// The usual way to build an absolute URL of the app in Express.
app.get('/go', (req, res) => res.redirect(`${req.protocol}://${req.get('host')}/landed`));
app.get('/landed', (_req, res) => res.send(page('landed', '<p id="landed">landed</p>')));
app.get('/session', (req, res) => {
  req.session.count = (req.session.count ?? 0) + 1;
  res.send(page('session', `<p id="count">${req.session.count}</p>`));
});

app.listen(Number(process.argv[2]), '127.0.0.1');
