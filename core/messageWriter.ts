/**
 * Writes a batch of frames to the WebSocket without joining their payloads first.
 *
 * `ws.send` takes a single buffer, so a batch holding body chunks had to be copied into one: every
 * body byte copied once more, a quarter of the agent's CPU in a bulk download. Here each large DATA
 * payload travels as its own WebSocket message, behind a small buffer holding the WebSocket header,
 * the frames queued before it and its own frame header; everything is written corked, as one writev.
 * Small messages also spare the receiver: ws copies a message that spans two socket reads into a
 * fresh buffer, and those copies (and the garbage collections they trigger) cost as much again.
 */
import type WebSocket from 'ws';
import { frameSocket } from './wsSocket.js';

/**
 * How this end masks what it sends (RFC 6455 §5.3). Servers never mask. Clients must, but the key
 * may be zero where no intermediary could be confused by the bytes (inside TLS, on loopback), and
 * then the payload goes out as it is; with a random key it has to be copied, masked, by ws.
 */
export type Masking = 'none' | 'zero-key' | 'random-key';

/** One WebSocket message: whole frames in `head`, then the payload of the DATA frame it ends with. */
export interface OutgoingMessage {
  head: Buffer;
  payload?: Buffer;
}

const SEND_OPTIONS = { binary: true, compress: false };

/**
 * Sends `messages` on `ws` in order, each as one WebSocket message, without copying the payloads
 * where ws's socket allows it; `sent` runs once all are handed to the socket.
 */
export function writeMessages(ws: WebSocket, masking: Masking, messages: OutgoingMessage[], sent: () => void): void {
  if (messages.length === 1 && !messages[0].payload) return ws.send(messages[0].head, SEND_OPTIONS, sent);
  // Without the socket (or when masking copies anyway) ws.send does the work.
  const socket = masking === 'random-key' ? undefined : frameSocket(ws);
  if (!socket) {
    return ws.send(Buffer.concat(messages.flatMap((m) => (m.payload ? [m.head, m.payload] : [m.head]))), SEND_OPTIONS, sent);
  }
  socket.cork();
  messages.forEach(({ head, payload }, i) => {
    const last = i === messages.length - 1;
    socket.write(
      withMessageHeader(head, head.length + (payload?.length ?? 0), masking === 'zero-key'),
      last && !payload ? sent : undefined,
    );
    if (payload) socket.write(payload, last ? sent : undefined);
  });
  socket.uncork();
}

/**
 * `head` behind its WebSocket message header, in one buffer: FIN + binary opcode, the message length
 * (`length`, which includes a payload written after it) in 7, 16 or 64 bits, and a zero masking key
 * for clients.
 */
function withMessageHeader(head: Buffer, length: number, zeroKey: boolean): Buffer {
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const headerBytes = 2 + lengthBytes + (zeroKey ? 4 : 0);
  const out = Buffer.allocUnsafe(headerBytes + head.length);
  out[0] = 0x82;
  out[1] = (zeroKey ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) out.writeUInt16BE(length, 2);
  else if (lengthBytes === 8) out.writeBigUInt64BE(BigInt(length), 2);
  if (zeroKey) out.fill(0, 2 + lengthBytes, headerBytes);
  head.copy(out, headerBytes);
  return out;
}
