/**
 * The one place Porthole reaches inside ws, for the message writer's uncopied writes. It relies on
 * three things ws does not promise, and test/unit/wsSocket.test.ts fails if a release changes any
 * of them (ws is pinned to the minor version that test passed on):
 *
 * - `_socket` is the socket (net or TLS) the WebSocket writes its frames to, from 'open' on;
 * - `send`, for a Buffer with no extension negotiated, writes its frame to that socket at once and
 *   queues nothing of its own, so bytes written to the socket directly keep their place among ws's;
 * - `extensions` is the negotiated Sec-WebSocket-Extensions text, empty when there is none (with
 *   permessage-deflate ws may hold frames back while it compresses).
 */
import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/**
 * The socket under `ws`, to write whole WebSocket frames to alongside `ws.send`; undefined when
 * that is not safe (an extension is negotiated, or ws has no socket yet).
 */
export function frameSocket(ws: WebSocket): Socket | undefined {
  if (ws.extensions) return undefined;
  return (ws as unknown as { _socket?: Socket | null })._socket ?? undefined;
}
