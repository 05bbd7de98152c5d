/**
 * The sending side of the internal hop: a public request for a tunnel held by another node is streamed
 * to that node over kept-alive connections (an undici Pool per node), and its answer streamed back.
 * Bodies flow both ways with back-pressure; SSE chunks pass as they come; upgrades (WebSockets) get a
 * connection of their own and then carry raw bytes both ways.
 */
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { dispatch } from '../../core/undiciDispatch.js';
import type { PublicClient } from '../clustering.js';
import type { Log } from '../log.js';
import { hasBody as requestHasBody, isHttp2Response, writeHttp2Head, type PublicRequest, type PublicResponse } from '../http2.js';
import { MISS_HEADER, answerHeaders, outboundHeaders } from './hop.js';

/** Connections kept to each node; long-lived answers (SSE, long polls) each hold one. */
const CONNECTIONS_PER_NODE = 512;
/** Above the agent's own limit for a slow local server (5 min), so the owner node's page is what the visitor sees. */
const HEADERS_TIMEOUT_MS = 6 * 60_000;

/** How a hop ended: the owner answered; it does not hold the tunnel; or it could not be reached before any answer. */
export type HopOutcome = { kind: 'answered'; status: number } | { kind: 'miss' } | { kind: 'unreachable'; error: Error };

export class Forwarder {
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly token: string,
    private readonly log: Log,
  ) {}

  /** Streams `req` to the node at `nodeUrl` and its answer into `res`; `done` hears how it ended, once. */
  request(nodeUrl: string, req: PublicRequest, res: PublicResponse, visitor: PublicClient, done: (outcome: HopOutcome) => void): void {
    const hasBody = requestHasBody(req);
    let abort: ((reason: Error) => void) | undefined;
    let gone: Error | undefined;
    let miss = false;
    let status = 0;
    let finished = false;
    const finish = (outcome: HopOutcome) => {
      if (finished) return;
      finished = true;
      done(outcome);
    };
    res.on('close', () => {
      if (res.writableFinished) return;
      gone = new Error('the visitor went away');
      abort?.(gone);
      finish({ kind: 'answered', status: status || 499 });
    });
    // The hop takes the body whatever the owner says, so the visitor need not wait for it (only bodies are never retried).
    if (hasBody && req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue();
    const request = {
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      path: req.url ?? '/',
      headers: outboundHeaders(req, visitor, this.token, false),
      body: hasBody ? req : null,
    };
    dispatch(this.pool(nodeUrl), request, {
      started: (abortRequest) => {
        abort = abortRequest;
        if (gone) abortRequest(gone);
      },
      head: (statusCode, statusText, rawHeaders, resume) => {
        if (!hasBody && rawHeaders.some((h, i) => i % 2 === 0 && h.toLowerCase() === MISS_HEADER)) {
          miss = true;
          return true;
        }
        status = statusCode;
        // The owner checked the agent's Content-Length; holding the visitor's response to it costs nothing.
        if (!isHttp2Response(res)) {
          res.strictContentLength = true;
          res.writeHead(statusCode, statusText, answerHeaders(rawHeaders));
        } else if (!writeHttp2Head(res, statusCode, answerHeaders(rawHeaders))) {
          res.destroy();
          return false;
        }
        res.on('drain', resume);
        return true;
      },
      data: (chunk) => miss || (res as Writable).write(chunk),
      end: () => {
        if (miss) return finish({ kind: 'miss' });
        res.end();
        finish({ kind: 'answered', status });
      },
      error: (error) => {
        if (gone) return;
        if (!res.headersSent) return finish({ kind: 'unreachable', error });
        res.destroy();
        finish({ kind: 'answered', status });
      },
    });
  }

  /** Passes an upgrade request to `nodeUrl`; once it switches, raw bytes flow both ways. */
  upgrade(
    nodeUrl: string,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    visitor: PublicClient,
    done: (outcome: HopOutcome) => void,
  ): void {
    const target = new URL(nodeUrl);
    const hop = http.request({
      host: target.hostname,
      port: target.port || 80,
      method: req.method,
      path: req.url,
      headers: outboundHeaders(req, visitor, this.token, true),
      setHost: false,
      agent: false,
    });
    let answered = false;
    const closeBoth = (upstream: Duplex) => {
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    };
    /** These run from the hop's own events, where nothing would catch what they throw: it costs this connection alone. */
    const guarded =
      <A extends unknown[]>(handle: (...args: A) => void) =>
      (...args: A) => {
        try {
          handle(...args);
        } catch (error) {
          this.log('cluster.hop-failed', { to: nodeUrl, url: req.url, error: (error as Error).message });
          hop.destroy();
          socket.destroy();
        }
      };
    hop.on(
      'upgrade',
      guarded((answer: IncomingMessage, upstream: Socket, rest: Buffer) => {
        answered = true;
        upstream.setNoDelay(true);
        socket.write(rawHead(answer, answer.rawHeaders), 'latin1');
        if (rest.length > 0) socket.write(rest);
        if (head.length > 0) upstream.write(head);
        closeBoth(upstream);
        upstream.pipe(socket);
        socket.pipe(upstream);
        done({ kind: 'answered', status: 101 });
      }),
    );
    hop.on(
      'response',
      guarded((answer: IncomingMessage) => {
        const headers = answerHeaders(answer.rawHeaders);
        if (answer.rawHeaders.some((h, i) => i % 2 === 0 && h.toLowerCase() === MISS_HEADER)) {
          answer.resume();
          answered = true;
          return done({ kind: 'miss' });
        }
        answered = true;
        socket.write(rawHead(answer, [...headers, 'connection', 'close']), 'latin1');
        answer.pipe(socket);
        done({ kind: 'answered', status: answer.statusCode ?? 502 });
      }),
    );
    hop.on('error', (error) => {
      if (!answered) done({ kind: 'unreachable', error });
      else socket.destroy();
    });
    socket.on('close', () => {
      if (!answered) hop.destroy();
    });
    hop.end();
  }

  /** Drops the connections to a node that left. */
  forget(nodeUrl: string): void {
    const pool = this.pools.get(nodeUrl);
    if (!pool) return;
    this.pools.delete(nodeUrl);
    pool.destroy().catch((error: Error) => this.log('cluster.pool-close-failed', { to: nodeUrl, error: error.message }));
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.destroy()));
  }

  private pool(nodeUrl: string): Pool {
    let pool = this.pools.get(nodeUrl);
    if (!pool) {
      pool = new Pool(nodeUrl, {
        connections: CONNECTIONS_PER_NODE,
        headersTimeout: HEADERS_TIMEOUT_MS,
        bodyTimeout: 0, // server-sent events and long polls may stay quiet for as long as they like
        connect: { noDelay: true },
      });
      this.pools.set(nodeUrl, pool);
    }
    return pool;
  }
}

function rawHead(answer: IncomingMessage, headers: string[]): string {
  const lines = [`HTTP/1.1 ${answer.statusCode} ${answer.statusMessage ?? ''}`];
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
