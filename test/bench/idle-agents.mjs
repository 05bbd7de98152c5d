// Many idle tunnels from one process: each is a bare WebSocket that says HELLO and then only answers
// the relay's pings, which is all an idle agent does. Frames are written by hand from the format in
// core/protocol.ts: | type u8 | stream u32 BE | length u32 BE | payload |.
// Usage: node idle-agents.mjs <relay port> <count> <name prefix>
// Prints {"event":"ready","count":N} once every tunnel has its WELCOME, then stays until SIGTERM.
import fs from 'node:fs';
import WebSocket from 'ws';

const [port, countText, prefix] = process.argv.slice(2);
const count = Number(countText);
// Read from the one place it is defined, so the bench cannot fall behind a protocol change.
const PROTOCOL_VERSION = Number(
  /PROTOCOL_VERSION = (\d+)/.exec(fs.readFileSync(new URL('../../core/protocol.ts', import.meta.url), 'utf8'))[1],
);
const HELLO = 1;
const WELCOME = 2;
const IN_PARALLEL = 50;

function frame(type, stream, payload) {
  const bytes = Buffer.alloc(9 + payload.length);
  bytes[0] = type;
  bytes.writeUInt32BE(stream, 1);
  bytes.writeUInt32BE(payload.length, 5);
  payload.copy(bytes, 9);
  return bytes;
}

const sockets = [];

function connect(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/_porthole/connect`, {
      headers: { host: `localhost:${port}` },
      perMessageDeflate: false,
    });
    sockets.push(ws);
    ws.once('open', () => {
      const hello = { protocol: PROTOCOL_VERSION, agent: 'porthole-bench', subdomain: `${prefix}${i}` };
      ws.send(frame(HELLO, 0, Buffer.from(JSON.stringify(hello))));
    });
    ws.once('message', (data) => {
      if (data[0] === WELCOME) resolve();
      else reject(new Error(`tunnel ${i}: the relay answered frame type ${data[0]}: ${data.subarray(9).toString()}`));
    });
    ws.once('error', reject);
    ws.once('close', (code, reason) => reject(new Error(`tunnel ${i} closed: ${code} ${reason}`)));
  });
}

let next = 0;
async function worker() {
  while (next < count) await connect(next++);
}

try {
  await Promise.all(Array.from({ length: Math.min(IN_PARALLEL, count) }, worker));
  console.log(JSON.stringify({ event: 'ready', count: sockets.length }));
} catch (error) {
  console.log(JSON.stringify({ event: 'error', message: error.message }));
  process.exit(1);
}
// A clean close (1000) frees the names at once, as Stop Sharing does; a kill would hold them for the grace period.
process.on('SIGTERM', () => {
  let open = sockets.length;
  const done = () => {
    if (--open <= 0) process.exit(0);
  };
  for (const ws of sockets) {
    ws.removeAllListeners('close');
    ws.once('close', done);
    ws.close(1000, 'bench done');
  }
  setTimeout(() => process.exit(0), 5000).unref();
});
