/**
 * Each way a request to the local server fails, as the visitor and the request log read it, and the
 * RESET code it becomes. The integration suites meet these failures for real (http, loopbackFamilies,
 * hostileRelay); this table keeps every code in view, and the first case is a real refused connection.
 */
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Pool } from 'undici';
import { cannotSend, explainLocalError, resetCodeFor } from '../../extension/agent/localErrors.js';

const TARGET = new URL('http://localhost:5173');
const failed = (code: string, message = code) => Object.assign(new Error(message), { code });
/** undici wraps some socket errors, keeping the code on the cause. */
const wrapped = (code: string) => Object.assign(new Error('fetch failed'), { cause: { code } });

test('a real refused connection: nothing is listening, unreachable', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  const target = new URL(`http://127.0.0.1:${port}`);
  const pool = new Pool(target.origin);
  const error = await pool.request({ method: 'GET', path: '/' }).then(
    () => assert.unreachable('nothing listens there'),
    (e: Error) => e,
  );
  await pool.close();
  assert.match(explainLocalError(target, error as Error, 1000), `Nothing is listening on 127.0.0.1:${port}`);
  assert.is(resetCodeFor(error as Error, false), 'unreachable');
});

test('each failure in a sentence that names the local server, and its RESET code', () => {
  const cases: [Error, RegExp, string][] = [
    [failed('ENOTFOUND'), /The local host name in http:\/\/localhost:5173 does not resolve\./, 'unreachable'],
    [failed('EAI_AGAIN'), /does not resolve/, 'unreachable'],
    [failed('ECONNRESET'), /The local server at localhost:5173 closed the connection before answering\./, 'unreachable'],
    [wrapped('UND_ERR_SOCKET'), /closed the connection before answering/, 'unreachable'],
    [failed('UND_ERR_HEADERS_TIMEOUT'), /The local server at localhost:5173 did not answer within 300 s\./, 'timeout'],
    [failed('UND_ERR_INVALID_ARG', 'invalid method'), /cannot send this request to the local server: invalid method/, 'internal'],
    [failed('UND_ERR_NOT_SUPPORTED', 'expect'), /cannot send this request/, 'internal'],
    [
      failed('DEPTH_ZERO_SELF_SIGNED_CERT'),
      /TLS certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)\. Share with --insecure/,
      'unreachable',
    ],
    [wrapped('ERR_TLS_CERT_ALTNAME_INVALID'), /not trusted \(ERR_TLS_CERT_ALTNAME_INVALID\)/, 'unreachable'],
    [new Error('something odd'), /The request to the local server at localhost:5173 failed: something odd/, 'unreachable'],
  ];
  for (const [error, sentence, code] of cases) {
    assert.match(explainLocalError(TARGET, error, 300_000), sentence);
    assert.is(resetCodeFor(error, false), code, sentence.source);
  }
});

test('once the local server answered, a failure is no longer its absence: internal', () => {
  assert.is(resetCodeFor(failed('ECONNRESET'), true), 'internal');
  assert.is(resetCodeFor(failed('UND_ERR_HEADERS_TIMEOUT'), true), 'internal');
  assert.is(cannotSend(new Error('bad header')), 'The agent cannot send this request to the local server: bad header');
});

test.run();
