// Clients the benchmark drives from its own process: bulk download and upload, WebSocket echo.
import http from 'node:http';
import WebSocket from 'ws';
import { matchesPattern, percentile, median, within, writePattern } from './lib.mjs';

const MiB = 1024 * 1024;

/** Downloads `bytes` from the origin's /download; returns MiB/s after checking count and pattern. */
export function download(base, host, bytes) {
  return within(
    120_000,
    `a ${bytes / MiB} MiB download`,
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = http.get(`${base}/download?bytes=${bytes}`, { headers: { host }, agent: false }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`download answered ${res.statusCode}`));
        let received = 0;
        let ok = true;
        res.on('data', (chunk) => {
          ok &&= matchesPattern(chunk, received);
          received += chunk.length;
        });
        res.on('end', () => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          if (received !== bytes || !ok)
            return reject(new Error(`download received ${received} of ${bytes} bytes${ok ? '' : ', out of order or corrupted'}`));
          resolve(bytes / MiB / seconds);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    }),
  );
}

/** Uploads `bytes` of the pattern to /upload; the origin counts and checks them. Returns MiB/s. */
export function upload(base, host, bytes) {
  return within(
    120_000,
    `a ${bytes / MiB} MiB upload`,
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = http.request(`${base}/upload`, { method: 'POST', headers: { host, 'content-length': bytes }, agent: false }, (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const answer = JSON.parse(text || '{}');
          if (res.statusCode !== 200 || answer.bytes !== bytes || !answer.ok)
            return reject(new Error(`upload: origin answered ${res.statusCode} ${text}`));
          resolve(bytes / MiB / seconds);
        });
      });
      req.on('error', reject);
      writePattern(req, bytes);
    }),
  );
}

/** Sends `count` messages one after another, each after the previous echo; returns median and p99 in µs. */
export async function websocketRoundTrips(url, host, count, warmup = 200) {
  const ws = new WebSocket(url, { headers: { host }, perMessageDeflate: false });
  await within(
    10_000,
    `WebSocket to ${url}`,
    new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    }),
  );
  const message = Buffer.alloc(32, 'x');
  const times = [];
  try {
    await within(
      60_000,
      `${count} WebSocket echoes`,
      new Promise((resolve, reject) => {
        let sentAt = 0n;
        let n = 0;
        const next = () => {
          sentAt = process.hrtime.bigint();
          ws.send(message);
        };
        ws.on('message', (data) => {
          const micros = Number(process.hrtime.bigint() - sentAt) / 1000;
          if (!Buffer.from(data).equals(message)) return reject(new Error('the echo differs from the message sent'));
          if (n++ >= warmup) times.push(micros);
          if (n < warmup + count) next();
          else resolve();
        });
        ws.once('close', () => reject(new Error('the WebSocket closed during the echoes')));
        next();
      }),
    );
  } finally {
    ws.terminate();
  }
  return { median: median(times), p99: percentile(times, 99) };
}
