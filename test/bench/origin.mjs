// The benchmark's origin: a plain Node http server in its own process, as a dev server would be.
// Prints {"port":N} once listening.
//   GET  /small            ~100-byte text body
//   GET  /download?bytes=N N bytes of the pattern
//   POST /upload           counts and checks the pattern, answers {"bytes":N,"ok":true}
//   WS   /ws               echoes every message
import http from 'node:http';
import { WebSocketServer } from 'ws';
import { matchesPattern, writePattern } from './lib.mjs';

const SMALL = Buffer.from(
  `${'Porthole benchmark: a small response, about one hundred bytes long, like a tiny JSON API. '.padEnd(99, '.')}\n`,
);

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://origin');
  if (url.pathname === '/small') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': SMALL.length });
    return res.end(SMALL);
  }
  if (url.pathname === '/download') return download(res, Number(url.searchParams.get('bytes') ?? 0));
  if (url.pathname === '/upload' && req.method === 'POST') {
    let bytes = 0;
    let ok = true;
    req.on('data', (chunk) => {
      ok &&= matchesPattern(chunk, bytes);
      bytes += chunk.length;
    });
    return req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ bytes, ok }));
    });
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('no such benchmark path\n');
});

function download(res, total) {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  writePattern(res, total);
}

const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));

server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
