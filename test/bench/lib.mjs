// Helpers for the benchmark: child processes we own (by PID), free ports, /proc counters, wrk.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from '../debian.cjs';

export { jsonLine } from '../jsonLines.cjs';

/** Bytes of the bulk-transfer pattern: byte i is i % 251, so any chunk can be checked against its offset. */
export const PATTERN_PERIOD = 251;
export const PATTERN = Buffer.allocUnsafe(PATTERN_PERIOD * 1024);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % PATTERN_PERIOD;

/** True when `chunk`, received at byte `offset` of a pattern stream, starts and ends with the expected bytes. */
export function matchesPattern(chunk, offset) {
  if (chunk.length === 0) return true;
  const last = offset + chunk.length - 1;
  return chunk[0] === offset % PATTERN_PERIOD && chunk[chunk.length - 1] === last % PATTERN_PERIOD;
}

/** Writes `total` bytes of PATTERN to `writable`, honouring back-pressure, then ends it. */
export function writePattern(writable, total) {
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const chunk = PATTERN.subarray(0, Math.min(PATTERN.length, total - sent));
      sent += chunk.length;
      if (!writable.write(chunk)) return void writable.once('drain', pump);
    }
    writable.end();
  };
  pump();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with `what` if `promise` does not settle within `ms`. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net
      .createServer()
      .on('error', reject)
      .listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
  });
}

const children = new Set();
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-bench-'));

/** Spawns a process we own; its stdout and stderr go to files in a temporary directory. */
export function start(name, command, args, options = {}) {
  const stdout = path.join(logDir, `${name}.out`);
  const stderr = path.join(logDir, `${name}.err`);
  const stdio = ['ignore', fs.openSync(stdout, 'w'), fs.openSync(stderr, 'w')];
  if (options.ipc) stdio.push('ipc');
  const child = spawn(command, args, { stdio, cwd: options.cwd, env: { ...process.env, ...options.env } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return { name, child, pid: child.pid, stdout, stderr };
}

/** Stops one process we started, by its PID: SIGTERM, then SIGKILL if it lingers. */
export async function stop(proc) {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGTERM');
  if (await Promise.race([exited.then(() => true), sleep(3000).then(() => false)])) return;
  proc.child.kill('SIGKILL');
  await exited;
}

export function stopAllSync() {
  for (const child of children) child.kill('SIGKILL');
}

/** Waits for a line of the process's stdout for which `parse` returns a value. */
export async function waitForLine(proc, parse, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of fs.readFileSync(proc.stdout, 'utf8').split('\n')) {
      const value = line.trim() ? parse(line) : undefined;
      if (value !== undefined) return value;
    }
    if (proc.child.exitCode !== null) break;
    await sleep(50);
  }
  const tail = (file) => fs.readFileSync(file, 'utf8').split('\n').slice(-6).join('\n');
  throw new Error(
    `${proc.name} never reported ${what} (exit ${proc.child.exitCode}).\nstdout: ${tail(proc.stdout)}\nstderr: ${tail(proc.stderr)}`,
  );
}

/** Polls a URL (with the given Host header) until it answers 200. */
export async function waitForHttp(url, host, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await getStatus(url, host).catch(() => 0)) === 200) return;
    await sleep(50);
  }
  throw new Error(`${url} (Host: ${host}) did not answer 200 within ${timeoutMs / 1000} s`);
}

/** One GET; resolves with the status code and the body. */
export function get(url, host) {
  return within(
    5000,
    `GET ${url}`,
    new Promise((resolve, reject) => {
      http
        .get(url, { headers: { host }, agent: false }, (res) => {
          const chunks = [];
          res.on('data', (d) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        })
        .on('error', reject);
    }),
  );
}

function getStatus(url, host) {
  return get(url, host).then((r) => r.status);
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time (user + system) a process has used so far, in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the file (utime, stime) are 11 and 12 after the command name.
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
}

/** Installs Debian's wrk when it is missing (idempotent). */
export function ensureWrk() {
  ensureDebianPackages(['wrk']);
}

export function wrkVersion() {
  try {
    execFileSync('wrk', ['--version'], { encoding: 'utf8' });
  } catch (error) {
    return String(error.stdout)
      .split('\n')[0]
      .replace(/\s+Copyright.*/, '')
      .trim();
  }
  return 'wrk';
}

/**
 * Runs `wrk -t1 -c<connections> --latency` for `seconds` and parses requests/s, p50, p99 and errors.
 * `pids` are sampled for CPU time before and after.
 */
export async function runWrk({ url, host, seconds, connections = 50, pids = {} }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url];
  if (host) args.push('-H', `Host: ${host}`);
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMicros(pid)]));
  const output = await within(
    (seconds + 15) * 1000,
    `wrk on ${url}`,
    new Promise((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      let text = '';
      child.stdout.on('data', (d) => {
        text += d;
      });
      child.stderr.on('data', (d) => {
        text += d;
      });
      child.on('error', reject);
      child.on('exit', (code) => {
        children.delete(child);
        if (code === 0) resolve(text);
        else reject(new Error(`wrk exited with ${code}:\n${text}`));
      });
    }),
  );
  const cpu = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMicros(pid) - before[name]]));
  const number = (pattern) => {
    const match = output.match(pattern);
    if (!match) throw new Error(`could not read ${pattern} from wrk's output:\n${output}`);
    return match;
  };
  const requests = Number(number(/(\d+) requests in/)[1]);
  const errors = Number(output.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const socketErrors = output.match(/Socket errors: (.*)/)?.[1];
  return {
    requests,
    rps: Number(number(/Requests\/sec:\s+([\d.]+)/)[1]),
    p50: latencyMs(number(/50%\s+([\d.]+)(us|ms|s)/)),
    p99: latencyMs(number(/99%\s+([\d.]+)(us|ms|s)/)),
    errors,
    socketErrors,
    cpu,
  };
}

function latencyMs([, value, unit]) {
  return Number(value) * { us: 0.001, ms: 1, s: 1000 }[unit];
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
