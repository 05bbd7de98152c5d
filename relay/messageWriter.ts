/**
 * Writes one binary WebSocket message made of several buffers without joining them first.
 *
 * `ws.send` takes a single buffer, so a batch holding 64 KiB DATA payloads had to be copied into
 * one: every body byte copied once more, a quarter of the agent's CPU in a bulk download. Here the
 * WebSocket header and the pieces go to the socket corked, as one writev, exactly as ws itself
 * writes a header and its payload.
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/**
 * How this end masks what it sends (RFC 6455 §5.3). Servers never mask. Clients must, but the key
 * may be zero where no intermediary could be confused by the bytes (inside TLS, on loopback), and
 * then the payload goes out as it is; with a random key it has to be copied, masked, by ws.
 */
export type Masking = 'none' | 'zero-key' | 'random-key';

export function writeMessage(ws: WebSocket, masking: Masking, pieces: Buffer[], length: number, sent: () => void): void {
  // ws keeps its socket private; without it (or when masking copies anyway) ws.send does the work.
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  if (pieces.length === 1 || masking === 'random-key' || !socket) {
    ws.send(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, length), { binary: true, compress: false }, sent);
    return;
  }
  socket.cork();
  socket.write(messageHeader(length, masking === 'zero-key'));
  for (let i = 0; i < pieces.length - 1; i++) socket.write(pieces[i]);
  socket.write(pieces[pieces.length - 1], sent);
  socket.uncork();
}

/** FIN + binary opcode, the payload length in 7, 16 or 64 bits, and a zero masking key for clients. */
export function messageHeader(length: number, zeroKey: boolean): Buffer {
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + (zeroKey ? 4 : 0));
  header[0] = 0x82;
  header[1] = (zeroKey ? 0x80 : 0) | (lengthBytes === 0 ? length : lengthBytes === 2 ? 126 : 127);
  if (lengthBytes === 2) header.writeUInt16BE(length, 2);
  else if (lengthBytes === 8) header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}
