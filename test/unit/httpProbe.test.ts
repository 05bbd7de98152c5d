import http from 'node:http';
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labelHttp, probeHttp } from '../../extension/ports/httpProbe.js';
import { rankListeners } from '../../extension/ports/portRanking.js';
import { freePort } from '../helpers.js';
import { ANSWER_MS, close, listen } from './portsSupport.js';

test('probeHttp: a page with a title, a raw TCP server, a silent one, a closed port, IPv6', async () => {
  const page = http.createServer((req, res) => {
    if (req.url !== '/') return res.writeHead(404).end();
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(
        '<!doctype html><html><head><meta charset="utf-8">\n<title lang="en">\n  Vite   &amp; React &#8211; caf&#xe9; </title></head><body>hi</body></html>',
      );
  });
  const bigNoTitle = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: 'x'.repeat(1 << 20) })),
  );
  const garbage = net.createServer((socket) => socket.end('\x00\x01SSH-2.0-OpenSSH_9.6\r\nnot http at all\r\n'));
  const silent = net.createServer();
  const [pagePort, bigPort, garbagePort, silentPort] = await Promise.all([
    listen(page, 0, '127.0.0.1'),
    listen(bigNoTitle, 0, '127.0.0.1'),
    listen(garbage, 0, '127.0.0.1'),
    listen(silent, 0, '127.0.0.1'),
  ]);
  const v6Page = http.createServer((_req, res) => res.end('<title>v6</title>'));
  const v6Port = await listen(v6Page, 0, '::1');
  try {
    assert.equal(await probeHttp(pagePort, '127.0.0.1', ANSWER_MS), { status: 200, title: 'Vite & React – café' });
    assert.equal(await probeHttp(bigPort, '127.0.0.1', ANSWER_MS), { status: 200 }, 'reads a bounded prefix of a 1 MiB body');
    assert.is(await probeHttp(garbagePort, '127.0.0.1', ANSWER_MS), undefined);
    assert.is(await probeHttp(await freePort(), '127.0.0.1', ANSWER_MS), undefined);
    assert.equal(await probeHttp(v6Port, '::1', ANSWER_MS), { status: 200, title: 'v6' });
    // Silence: given up on after the probe's own time limit (500 ms), not before.
    const started = performance.now();
    assert.is(await probeHttp(silentPort), undefined);
    const waited = performance.now() - started;
    assert.ok(waited >= 450 && waited < 10_000, `gave up on silence after ${waited.toFixed(0)} ms`);
    const labelled = await labelHttp(
      rankListeners([
        { port: pagePort, address: '127.0.0.1' },
        { port: garbagePort, address: '0.0.0.0' },
        { port: v6Port, address: '::' },
      ]),
      ANSWER_MS,
    );
    const titles = Object.fromEntries(labelled.map((p) => [p.port, p.http?.title ?? null]));
    assert.equal(titles, { [pagePort]: 'Vite & React – café', [garbagePort]: null, [v6Port]: 'v6' });
  } finally {
    await Promise.all([page, bigNoTitle, garbage, silent, v6Page].map(close));
  }
});

test.run();
