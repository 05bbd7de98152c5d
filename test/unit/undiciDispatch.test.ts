/**
 * What core/undiciDispatch.ts relies on inside undici, checked against the installed release with a
 * real server on loopback. If one of these fails after an undici update, the relay's cluster hop and
 * the agent's local requests are no longer safe: fix the adapter before moving the pin in package.json.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { dispatch, type ResponseSink } from '../../core/undiciDispatch';
import { freePort } from '../helpers';

const CHUNK = Buffer.alloc(64 * 1024, 'u');
const CHUNKS = 64;

/** A server whose routes show what a proxy must pass on as it came. */
async function server(): Promise<{ pool: Pool; close(): Promise<void> }> {
  const s = http.createServer((req, res) => {
    if (req.url === '/fields') {
      res.writeEarlyHints({ link: '</app.css>; rel=preload' });
      res.writeHead(201, 'Made It', ['X-Mixed-Case', 'a', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Latin', 'caf\xe9']);
      return res.end('ok');
    }
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-length': CHUNK.length * CHUNKS });
      let sent = 0;
      const pump = () => {
        while (sent < CHUNKS) {
          sent++;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    res.writeHead(200);
    res.end();
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const pool = new Pool(`http://127.0.0.1:${(s.address() as AddressInfo).port}`, { connections: 2 });
  return {
    pool,
    close: async () => {
      await pool.destroy();
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    },
  };
}

/** Collects what the sink hears; with `hold`, false to the first chunk holds the body. */
function recorder(hold = false) {
  const heard = { heads: [] as [number, string, string[]][], bytes: 0, chunks: 0, ended: false, error: undefined as Error | undefined };
  let resume: () => void = () => undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const sink: ResponseSink = {
    head: (status, text, raw, resumeBody) => {
      heard.heads.push([status, text, raw]);
      resume = resumeBody;
      return true;
    },
    data: (chunk) => {
      heard.bytes += chunk.length;
      return !(hold && ++heard.chunks === 1);
    },
    end: () => {
      heard.ended = true;
      finish();
    },
    error: (error) => {
      heard.error = error;
      finish();
    },
  };
  return { heard, done, sink, resume: () => resume() };
}

test('the final head comes with its raw fields as the server wrote them: case, repeats, latin1; 1xx skipped', async () => {
  const s = await server();
  try {
    const r = recorder();
    dispatch(s.pool, { method: 'GET', path: '/fields' }, r.sink);
    await r.done;
    assert.is(r.heard.error, undefined);
    assert.is(r.heard.heads.length, 1, 'the 103 Early Hints never reach the sink');
    const [status, text, raw] = r.heard.heads[0];
    assert.is(status, 201);
    assert.is(text, 'Made It');
    const fields = raw.slice(0, 8);
    assert.equal(fields, ['X-Mixed-Case', 'a', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Latin', 'caf\xe9']);
    assert.ok(r.heard.ended);
    assert.is(r.heard.bytes, 2);
  } finally {
    await s.close();
  }
});

test('false from data holds the body until resume; then all of it arrives', async () => {
  const s = await server();
  try {
    const r = recorder(true);
    dispatch(s.pool, { method: 'GET', path: '/stream' }, r.sink);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.is(r.heard.chunks, 1, 'nothing after the chunk that asked to pause');
    assert.not.ok(r.heard.ended);
    r.resume();
    await r.done;
    assert.is(r.heard.error, undefined);
    assert.is(r.heard.bytes, CHUNK.length * CHUNKS);
  } finally {
    await s.close();
  }
});

test('abort from started ends the request with that reason; unreachable and refused requests end in error', async () => {
  const s = await server();
  try {
    const aborted = recorder();
    aborted.sink.started = (abort) => abort(new Error('the visitor went away'));
    dispatch(s.pool, { method: 'GET', path: '/stream' }, aborted.sink);
    await aborted.done;
    assert.is(aborted.heard.error?.message, 'the visitor went away');
    assert.is(aborted.heard.heads.length, 0);

    const refused = recorder();
    dispatch(s.pool, { method: 'GET', path: 'no slash' }, refused.sink);
    await refused.done;
    assert.match(String(refused.heard.error?.message), /path/);
  } finally {
    await s.close();
  }
  const nobody = new Pool(`http://127.0.0.1:${await freePort()}`);
  const unreachable = recorder();
  dispatch(nobody, { method: 'GET', path: '/' }, unreachable.sink);
  await unreachable.done;
  assert.is((unreachable.heard.error as NodeJS.ErrnoException | undefined)?.code, 'ECONNREFUSED');
  await nobody.destroy();
});

test.run();
