/** Whether a listening port speaks HTTP, and its page's title, from the first bytes of its answer to `GET /`. */
import net from 'node:net';
import { parseHttpResponseStart, type HttpProbe } from './portParsers.js';
import type { ListeningPort } from './portRanking.js';

const PROBE_TIMEOUT_MS = 500;
const PROBE_MAX_BYTES = 16 * 1024;

/**
 * Sends `GET /` and reads at most 16 KiB for at most 500 ms (`timeoutMs`): enough for the status line
 * and, on most pages, the <title>. Undefined when nothing answered HTTP (closed port, another
 * protocol, silence).
 */
export function probeHttp(port: number, host = '127.0.0.1', timeoutMs = PROBE_TIMEOUT_MS): Promise<HttpProbe | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const socket = net.connect({ port, host });
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseHttpResponseStart(Buffer.concat(chunks).toString('utf8')));
    };
    const timer = setTimeout(finish, timeoutMs);
    const hostHeader = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    socket.once('connect', () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${hostHeader}\r\nAccept: text/html\r\nUser-Agent: porthole-port-probe\r\nConnection: close\r\n\r\n`,
      ),
    );
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received >= PROBE_MAX_BYTES || /<\/title/i.test(chunk.toString('latin1'))) finish();
    });
    socket.once('end', finish);
    socket.once('error', finish);
  });
}

/** Probes the given ports side by side and returns them with `http` set where they answered HTTP. */
export async function labelHttp(ports: ListeningPort[], timeoutMs = PROBE_TIMEOUT_MS): Promise<ListeningPort[]> {
  return Promise.all(
    ports.map(async (port) => {
      const http = await probeHttp(port.port, port.host, timeoutMs);
      return http ? { ...port, http } : port;
    }),
  );
}
