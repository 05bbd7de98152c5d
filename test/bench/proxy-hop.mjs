// A reference point, not Porthole: one lean Node reverse-proxy hop (http.createServer + an undici Pool
// of 64 connections), as in perf-notes. The tunnel does this hop's work split over two processes
// plus the WebSocket between them, so its CPU per request is the floor to compare against.
// Usage: node proxy-hop.mjs <origin URL>; prints {"port":N} once listening.
import http from 'node:http';
import { Pool } from 'undici';

const origin = new URL(process.argv[2]);
const pool = new Pool(origin.origin, { connections: 64 });

const server = http.createServer({ noDelay: true }, (req, res) => {
  const headers = { ...req.headers, host: origin.host };
  const body = req.method === 'GET' || req.method === 'HEAD' ? null : req;
  pool.request({ method: req.method, path: req.url, headers, body }).then(
    ({ statusCode, headers: answer, body }) => {
      res.writeHead(statusCode, answer);
      body.pipe(res);
    },
    (error) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy hop: ${error.message}\n`);
    },
  );
});

server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.on('SIGTERM', () => process.exit(0));
