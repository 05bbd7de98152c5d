/**
 * The one way relay and agent close a peer's WebSocket: with a code and a reason a person can read,
 * whatever text the reason carries. Reasons often quote what the peer sent (a header name, a field),
 * and ws throws on a reason longer than a close frame holds, from inside whichever listener closes.
 */
import type WebSocket from 'ws';

/** Reason bytes a close frame carries: 125 bytes of control payload less the 2-byte code (RFC 6455 §5.5). */
export const MAX_CLOSE_REASON_BYTES = 123;

const ELLIPSIS = '…';

/**
 * `text` as it fits in a close frame: unchanged when its UTF-8 is at most 123 bytes, otherwise cut
 * at a character boundary and ended with an ellipsis. Lone surrogates count as the U+FFFD they become.
 */
export function closeReason(text: string): string {
  if (text.length <= MAX_CLOSE_REASON_BYTES / 3 || Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
  const bytes = Buffer.from(text);
  let end = MAX_CLOSE_REASON_BYTES - Buffer.byteLength(ELLIPSIS);
  // Step back over continuation bytes (10xxxxxx) to the start of the character that would be split.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString() + ELLIPSIS;
}

/**
 * Closes `ws` with `code` and `reason` (cut to fit). Never throws: a socket that cannot be closed
 * politely (a code ws refuses) is cut off instead, and a closed one is left alone.
 */
export function closePeer(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) return;
  try {
    ws.close(code, closeReason(reason));
  } catch {
    // Only a code outside what RFC 6455 lets an endpoint send gets here: the peer still learns the connection is over.
    ws.terminate();
  }
}
