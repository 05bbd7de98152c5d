/**
 * A raw HTTP/2 client for sending what well-behaved clients never send (RFC 9113 framing and HPACK
 * literals written by hand), to check the relay answers malformed requests with a stream error.
 */
import tls from 'node:tls';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
enum Type {
  Data = 0,
  Headers = 1,
  RstStream = 3,
  Settings = 4,
  GoAway = 7,
}
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
/** RST_STREAM's error code for a stream the client no longer wants (RFC 9113 §7). */
const CANCEL = 0x8;

/** How the server answered one stream: a response status, a stream reset, or the connection closed. */
export type RawOutcome = { kind: 'response' } | { kind: 'reset'; code: number } | { kind: 'goaway'; code: number } | { kind: 'closed' };

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function hpackInteger(value: number, prefixBits: number, firstByte = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** Header fields as HPACK "literal without indexing, new name" entries, bytes exactly as given. */
export function hpackLiterals(fields: [Buffer | string, Buffer | string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name);
    const v = Buffer.from(value);
    parts.push(Buffer.from([0x00, ...hpackInteger(n.length, 7)]), n, Buffer.from(hpackInteger(v.length, 7)), v);
  }
  return Buffer.concat(parts);
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

export interface RawConnection {
  /** A request with no body: one HEADERS frame; resolves with what came back for it. */
  send(block: Buffer, timeoutMs?: number): Promise<RawOutcome>;
  /** A request whose body follows: HEADERS without END_STREAM; returns the stream id. */
  open(block: Buffer): number;
  /** What came back for a stream `open` started (a response that came before the call counts). */
  answer(stream: number, timeoutMs?: number): Promise<RawOutcome>;
  /** A DATA frame; `last` sets END_STREAM on it. */
  data(stream: number, payload: Buffer, last?: boolean): void;
  /** RST_STREAM, CANCEL unless `code` says otherwise, as a browser sends it for an upload it gives up (no END_STREAM before it). */
  cancel(stream: number, code?: number): void;
  close(): void;
}

/** One TLS connection speaking h2, on which requests are written frame by frame. */
export function rawHttp2(port: number, servername: string, ca: Buffer): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    let nextStream = 1;
    let buffered = Buffer.alloc(0);
    const waiting = new Map<number, (outcome: RawOutcome) => void>();
    /** Outcomes of streams nobody was waiting on yet. */
    const arrived = new Map<number, RawOutcome>();
    const finishAll = (outcome: RawOutcome) => {
      for (const done of waiting.values()) done(outcome);
      waiting.clear();
    };
    const settle = (stream: number, outcome: RawOutcome) => {
      const done = waiting.get(stream);
      waiting.delete(stream);
      if (done) done(outcome);
      else if (!arrived.has(stream)) arrived.set(stream, outcome);
    };
    const answer = (id: number, timeoutMs = 5000) =>
      new Promise<RawOutcome>((done) => {
        const early = arrived.get(id);
        if (early) return done(early);
        const timer = setTimeout(() => done({ kind: 'closed' }), timeoutMs);
        waiting.set(id, (outcome) => {
          clearTimeout(timer);
          done(outcome);
        });
      });
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['h2'] }, () => {
      if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN chose ${socket.alpnProtocol}`));
      socket.write(Buffer.concat([PREFACE, frame(Type.Settings, 0, 0)]));
      resolve({
        send(block, timeoutMs = 5000) {
          const id = nextStream;
          nextStream += 2;
          const outcome = answer(id, timeoutMs);
          socket.write(frame(Type.Headers, END_HEADERS | END_STREAM, id, block));
          return outcome;
        },
        answer,
        open(block) {
          const id = nextStream;
          nextStream += 2;
          socket.write(frame(Type.Headers, END_HEADERS, id, block));
          return id;
        },
        data: (stream, payload, last = false) => socket.write(frame(Type.Data, last ? END_STREAM : 0, stream, payload)),
        cancel: (stream, code = CANCEL) => {
          const payload = Buffer.alloc(4);
          payload.writeUInt32BE(code);
          socket.write(frame(Type.RstStream, 0, stream, payload));
        },
        close: () => socket.destroy(),
      });
    });
    socket.on('error', (error) => {
      finishAll({ kind: 'closed' });
      reject(error);
    });
    socket.on('close', () => finishAll({ kind: 'closed' }));
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const [type, flags, stream] = [buffered[3], buffered[4], buffered.readUInt32BE(5) & 0x7fffffff];
        const payload = buffered.subarray(9, 9 + length);
        buffered = buffered.subarray(9 + length);
        if (type === Type.Settings && !(flags & ACK)) socket.write(frame(Type.Settings, ACK, 0));
        else if (type === Type.RstStream) settle(stream, { kind: 'reset', code: payload.readUInt32BE(0) });
        else if (type === Type.GoAway) finishAll({ kind: 'goaway', code: payload.readUInt32BE(4) });
        else if (type === Type.Headers) settle(stream, { kind: 'response' });
      }
    });
  });
}
