/**
 * Slow clients are cut on time: a request head must be complete --head-timeout after it began,
 * however its bytes trickle; idle keep-alive connections go after --keep-alive-timeout; on HTTPS a
 * stalled TLS handshake goes too, and a refused connection is closed without a handshake.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { startRelay, type Relay } from '../../relay/server';
import { staticCertificate } from '../../relay/tls/staticCertificate';
import { quietLog, relay, stalls, waitFor } from '../helpers';
import { metric, slowClient } from './limitsSupport';

const it = suite('connection timeouts');

/** Each timeout here is 1 s; the relay looks for overdue heads once a second, and timers fire a little late. */
const TIMEOUT_MS = 1000;
const CHECK_AND_SLACK_MS = 1500;

/** Cut on time: not before the timeout, and after it by no more than the check, a slack and what the process stalled. */
function onTime(ms: number, stalled: number, what: string): void {
  const latest = TIMEOUT_MS + CHECK_AND_SLACK_MS + stalled;
  assert.ok(ms >= TIMEOUT_MS - 100 && ms <= latest, `${what} after ${ms} ms (allowed ${TIMEOUT_MS - 100} to ${latest.toFixed(0)})`);
}

/** Resolves when the socket closes, with how long it was open and what it received. */
function closedAfter(socket: net.Socket): Promise<{ ms: number; answer: string }> {
  const started = Date.now();
  let answer = '';
  socket.on('data', (d: Buffer) => {
    answer += d.toString('latin1');
  });
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.on('close', () => resolve({ ms: Date.now() - started, answer })));
}

it('a head must be complete in time, however slowly it trickles, and the client is told 408', async () => {
  const limited = await relay({ headTimeoutMs: TIMEOUT_MS });
  const stalled = stalls();
  try {
    const silent = closedAfter(net.connect(limited.httpPort, '127.0.0.1'));
    const trickling = slowClient(limited.httpPort, `x.localhost:${limited.httpPort}`, undefined, 100);
    const trickled = closedAfter(trickling.socket);
    const cuts = [await silent, await trickled];
    const held = stalled.stop();
    for (const { ms, answer } of cuts) {
      onTime(ms, held, 'cut');
      assert.match(answer, /^HTTP\/1.1 408 Request Timeout/);
    }
    assert.is(metric(limited, 'porthole_connection_timeouts_total{phase="request"}'), 2);
  } finally {
    await limited.close(0);
  }
});

it('an idle keep-alive connection is closed after --keep-alive-timeout, and the relay says so in Keep-Alive', async () => {
  const limited = await relay({ keepAliveTimeoutMs: TIMEOUT_MS });
  const stalled = stalls();
  try {
    const socket = net.connect(limited.httpPort, '127.0.0.1', () =>
      socket.write(`GET /_porthole/health HTTP/1.1\r\nHost: localhost:${limited.httpPort}\r\n\r\n`),
    );
    const { ms, answer } = await closedAfter(socket);
    assert.match(answer, /^HTTP\/1.1 200 OK/);
    assert.match(answer, /keep-alive: timeout=1/i);
    onTime(ms, stalled.stop(), 'closed');
  } finally {
    await limited.close(0);
  }
});

/** A self-signed certificate for *.localhost, as --tls-cert/--tls-key would bring. */
function selfSigned(): { certFile: string; keyFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-limits-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,DNS:*.localhost'],
      ...['-keyout', keyFile, '-out', certFile],
    ],
    { stdio: 'pipe' },
  );
  return { certFile, keyFile };
}

it('HTTPS: a stalled TLS handshake is cut, and a refused connection is closed without a handshake', async () => {
  const { certFile, keyFile } = selfSigned();
  const certificates = staticCertificate(certFile, keyFile, { log: quietLog });
  let secure: Relay | undefined;
  const sockets: net.Socket[] = [];
  try {
    secure = await startRelay({
      config: {
        httpPort: 0,
        headTimeoutMs: TIMEOUT_MS,
        maxConnectionsPerAddress: 2,
        tls: { kind: 'files', httpsPort: 0, certFile, keyFile },
      },
      certificates,
      log: quietLog,
    });
    const port = secure.httpsPort as number;
    const timers = stalls();
    // Two TCP connections that never start their handshake: the address's whole share.
    const stalled = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
    sockets.push(...stalled);
    const stalledClosed = stalled.map(closedAfter);
    await waitFor(() => metric(secure as Relay, 'porthole_connections{slots="all"}') === 2, 15_000, 'both stalled connections');

    const refused = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
    sockets.push(refused);
    let handshook = false;
    refused.on('secureConnect', () => {
      handshook = true;
    });
    const { answer } = await closedAfter(refused);
    assert.not.ok(handshook, 'no handshake for a refused connection');
    assert.is(answer, '');

    const ca = fs.readFileSync(certFile);
    const other = await new Promise<string>((resolve, reject) => {
      const tcp = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      const socket = tls.connect({ socket: tcp, servername: 'localhost', ca }, () =>
        socket.end('GET /_porthole/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d;
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(other, /^HTTP\/1.1 200 OK/, 'another address is served over HTTPS');

    const slowHead = tls.connect(
      { socket: net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.3' }), servername: 'localhost', ca },
      () => slowHead.write('GET / HTTP/1.1\r\nHost: localhost\r\n'),
    );
    const { ms, answer: slowAnswer } = await closedAfter(slowHead);
    const handshakesCut = await Promise.all(stalledClosed);
    const held = timers.stop();
    assert.match(slowAnswer, /^HTTP\/1.1 408 Request Timeout/, 'the head timeout holds over TLS too');
    onTime(ms, held, 'head cut');
    for (const cut of handshakesCut) onTime(cut.ms, held, 'handshake cut');
    assert.is(metric(secure, 'porthole_connection_timeouts_total{phase="tls_handshake"}'), 2);
    assert.is(metric(secure, 'porthole_connections_refused_total{reason="address"}'), 1);
  } finally {
    for (const socket of sockets) socket.destroy();
    await secure?.close(0);
    certificates.stop();
  }
});

it.run();
