/**
 * The embedded relay that `porthole share` without --relay, and the extension without a relay URL,
 * start in their own process: loopback only, plain HTTP, *.localhost.
 */
import { DEFAULT_HTTP_PORT } from './config.js';
import type { Log } from './log.js';
import { startRelay, type Relay } from './server.js';

export interface EmbeddedRelay {
  relay: Relay;
  /** Set when the preferred port was taken (by another relay, another VS Code window) and a free one was used. */
  busyPort?: number;
}

/** Starts on `port`, or on any free port when that one is in use; `0` always picks a free port. */
export async function startEmbeddedRelay(log: Log, port = DEFAULT_HTTP_PORT): Promise<EmbeddedRelay> {
  try {
    return { relay: await startRelay({ config: { httpPort: port }, log }) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    return { relay: await startRelay({ config: { httpPort: 0 }, log }), busyPort: port };
  }
}
