/**
 * The agent's local side: replays each tunnel stream as a request to the local server, over
 * kept-alive connections, and streams the answer back. Also records what happened for request logs.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { type Duplex, Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { dispatch } from '../../core/undiciDispatch.js';
import type { RequestHead } from '../../core/protocol.js';
import { pipeReadable, pipeWritable } from '../../core/pipe.js';
import type { TunnelStream } from '../../core/stream.js';
import { type BodySink, compressedBody, planResponse } from './compression.js';
import { LOCAL_CONNECT } from './localAddress.js';
import { cannotSend, explainLocalError, resetCodeFor } from './localErrors.js';
import { OriginMap } from './originMap.js';
import { Recorder } from './recorder.js';
import type { ReplayRequest, RequestRecord } from './requestRecord.js';

/**
 * Connections kept open to the local server: as many as the relay lets a tunnel have in flight
 * (its default --max-streams), so long-lived responses (SSE, long polls) never starve the rest.
 */
const LOCAL_CONNECTIONS = 128;
/** A dev server compiling on first load can be slow; after this long the visitor gets a 504. */
const HEADERS_TIMEOUT_MS = 5 * 60_000;

export interface LocalTargetOptions {
  hostHeader: 'rewrite' | 'preserve';
  insecure: boolean;
  /** Compress text-like responses for visitors that accept it (compression.ts). */
  compress: boolean;
}

export class LocalTarget {
  private readonly pool: Pool;
  /** Host-rewrite mode's map between the share's public origin and this target, once the relay has named it. */
  private origins?: OriginMap;

  /** Bytes of each body kept for request logs; a change applies to requests that start after it. */
  captureBytes: number;

  constructor(
    readonly url: URL,
    private readonly options: LocalTargetOptions,
    captureBytes: number,
  ) {
    this.captureBytes = captureBytes;
    this.pool = new Pool(url.origin, {
      connections: LOCAL_CONNECTIONS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      bodyTimeout: 0, // server-sent events and long polls may stay quiet for as long as they like
      connect: { rejectUnauthorized: !options.insecure, noDelay: true, ...LOCAL_CONNECT },
    });
  }

  /** The share's public URL, as the relay gave it; in Host-rewrite mode origins are mapped between it and the target from now on. */
  setPublicUrl(url: string): void {
    if (this.options.hostHeader === 'rewrite') this.origins = new OriginMap(this.url, new URL(url));
  }

  /** Forwards one stream; `record` is called when it completes or fails (omit it to skip capture). */
  forward(stream: TunnelStream, head: RequestHead, id: number, record?: (r: RequestRecord) => void): void {
    const log = record ? new Recorder(head, id, this.captureBytes, record) : undefined;
    if (head.upgrade) return this.forwardUpgrade(stream, head, log);

    let requestBody: Readable | null = null;
    if (head.body) {
      let pending = 0;
      requestBody = new Readable({
        read: () => {
          if (pending > 0) {
            stream.consumed(pending);
            pending = 0;
          }
        },
      });
      stream.onData = (chunk) => {
        log?.requestChunk(chunk);
        if (requestBody?.push(chunk)) stream.consumed(chunk.length);
        else pending += chunk.length;
      };
      stream.onEnd = () => requestBody?.push(null);
    }

    let responded = false;
    // A stream can be reset while its request still waits in the pool for a connection: remember
    // why, so the request is dropped the moment it is handed a connection instead of holding it.
    let cancelled: Error | undefined;
    let abort: ((reason: Error) => void) | undefined;
    let resume: (() => void) | undefined;
    /** The encoder a compressed response's body goes through. */
    let encoder: BodySink | undefined;
    stream.onWritable = () => resume?.();
    stream.onReset = (reset) => {
      cancelled = new Error(reset.message);
      requestBody?.destroy();
      abort?.(cancelled);
    };
    const headers = this.localHeaders(head.headers);
    log?.localRequest(headers);
    dispatch(
      this.pool,
      { method: head.method, path: head.path, headers, body: requestBody },
      {
        started: (abortRequest) => {
          abort = abortRequest;
          if (cancelled) abortRequest(cancelled);
        },
        head: (status, statusText, rawHeaders, resumeResponse) => {
          responded = true;
          resume = resumeResponse;
          const mapped = this.forVisitor(rawHeaders);
          const plan = this.options.compress ? planResponse(head.method, head.headers, status, mapped) : { headers: mapped };
          stream.sendResponse({ status, statusText, headers: plan.headers });
          if (plan.encoding) {
            encoder = compressedBody(stream, plan.encoding, plan.length, resumeResponse);
            log?.compressed(plan.encoding, stream);
          }
          log?.response(status, rawHeaders, plan.headers);
          return true;
        },
        data: (chunk) => {
          if (stream.isDone) {
            abort?.(cancelled ?? new Error('the stream closed'));
            return true;
          }
          log?.responseChunk(chunk);
          return encoder ? encoder.write(chunk) : stream.write(chunk);
        },
        end: () => {
          if (encoder) return encoder.end(() => log?.finish());
          stream.end();
          log?.finish();
        },
        error: (error) => {
          const message = explainLocalError(this.url, error, HEADERS_TIMEOUT_MS);
          stream.reset(resetCodeFor(error, responded), message);
          encoder?.abort();
          log?.finish(message);
        },
      },
    );
  }

  /** Sends a request to the local server (a logged one, maybe edited) and records it as a replay of `replayOf`. */
  async replay(request: ReplayRequest, id: number, replayOf: number): Promise<RequestRecord> {
    // The body is whole here: a stale Content-Length or Transfer-Encoding goes, and the true length
    // is sent (and recorded, so a replay compares with its original like for like).
    const headers: string[] = [];
    for (let i = 0; i + 1 < request.headers.length; i += 2) {
      const name = request.headers[i].toLowerCase();
      if (name !== 'content-length' && name !== 'transfer-encoding') headers.push(request.headers[i], request.headers[i + 1]);
    }
    if (request.body.length > 0 || !['GET', 'HEAD', 'OPTIONS', 'DELETE'].includes(request.method))
      headers.push('Content-Length', String(request.body.length));
    const head: RequestHead = { method: request.method, path: request.path, headers, remote: 'replay' };
    let done!: (r: RequestRecord) => void;
    const finished = new Promise<RequestRecord>((resolve) => {
      done = resolve;
    });
    const recorder = new Recorder(head, id, this.captureBytes, done);
    recorder.requestChunk(request.body);
    const local = this.localHeaders(headers);
    recorder.localRequest(local);
    try {
      const response = await this.pool.request({
        method: request.method as Dispatcher.HttpMethod,
        path: request.path,
        headers: local,
        body: request.body.length > 0 ? request.body : null,
      });
      recorder.response(response.statusCode, flatten(response.headers));
      for await (const chunk of response.body) recorder.responseChunk(chunk as Buffer);
      recorder.finish();
    } catch (error) {
      recorder.finish(explainLocalError(this.url, error as Error, HEADERS_TIMEOUT_MS));
    }
    const result = await finished;
    result.replayOf = replayOf;
    return result;
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private forwardUpgrade(stream: TunnelStream, head: RequestHead, log?: Recorder): void {
    const early: Buffer[] = [];
    stream.onData = (chunk) => early.push(chunk);
    const headers = this.localHeaders(head.headers, true);
    log?.localRequest(headers);
    let request: http.ClientRequest;
    try {
      request = (this.url.protocol === 'https:' ? https : http).request({
        host: this.url.hostname,
        port: this.url.port || undefined,
        method: head.method,
        path: head.path,
        headers,
        agent: false,
        rejectUnauthorized: !this.options.insecure,
        ...LOCAL_CONNECT,
      });
    } catch (error) {
      // Node checks the method, path and headers as it builds the request, and throws.
      const message = cannotSend(error as Error);
      stream.reset('internal', message);
      log?.finish(message);
      return;
    }
    stream.onReset = () => request.destroy();
    request.on(
      'upgrade',
      stream.guard((response: http.IncomingMessage, socket: Duplex, rest: Buffer) => {
        if (stream.isDone) return socket.destroy();
        (socket as Socket).setNoDelay(true);
        const visitorHeaders = this.forVisitor(response.rawHeaders);
        stream.sendResponse({ status: 101, statusText: response.statusMessage, headers: visitorHeaders });
        log?.response(101, response.rawHeaders, visitorHeaders);
        if (rest.length > 0) stream.write(rest);
        pipeWritable(stream, socket);
        for (const chunk of early.splice(0)) {
          socket.write(chunk);
          stream.consumed(chunk.length);
        }
        pipeReadable(socket, stream);
        stream.onReset = () => socket.destroy();
        socket.on(
          'error',
          stream.guard(() => stream.reset('cancelled', 'the local server closed the upgraded connection')),
        );
        socket.on(
          'close',
          stream.guard(() => {
            stream.end();
            log?.finish();
          }),
        );
      }),
    );
    request.on(
      'response',
      stream.guard((response: http.IncomingMessage) => {
        const status = response.statusCode ?? 502;
        const visitorHeaders = this.forVisitor(response.rawHeaders);
        stream.sendResponse({ status, statusText: response.statusMessage, headers: visitorHeaders });
        log?.response(status, response.rawHeaders, visitorHeaders);
        pipeReadable(response, stream);
        response.on('end', () => log?.finish());
      }),
    );
    request.on(
      'error',
      stream.guard((error: Error) => {
        const message = explainLocalError(this.url, error, HEADERS_TIMEOUT_MS);
        stream.reset('unreachable', message);
        log?.finish(message);
      }),
    );
    request.end();
  }

  /** Response headers as the visitor gets them: in Host-rewrite mode, with the local origin mapped to the public one. */
  private forVisitor(headers: string[]): string[] {
    return this.origins ? this.origins.response(headers) : headers;
  }

  /**
   * Request headers for the local server. Host-rewrite mode shows it the request as if the visitor
   * had opened the target itself: Host is the target, a same-origin Origin or Referer names it (see
   * OriginMap), and X-Forwarded-Host is left out, because a server that reads it (Next.js server
   * actions, Rails) compares the visitor's Origin with it. Preserve mode passes them on as sent.
   */
  private localHeaders(raw: string[], upgrade = false): string[] {
    const rewrite = this.options.hostHeader === 'rewrite';
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (rewrite && (name === 'host' || name === 'x-forwarded-host')) continue;
      // undici sets Connection itself; Node's http client needs them for upgrades.
      if (!upgrade && (name === 'connection' || name === 'upgrade')) continue;
      headers.push(raw[i], this.origins ? this.origins.requestValue(name, raw[i + 1]) : raw[i + 1]);
    }
    if (rewrite) headers.push('host', this.url.host);
    return headers;
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): string[] {
  const raw: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) raw.push(name, v);
  }
  return raw;
}
