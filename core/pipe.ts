/**
 * Connects tunnel streams to Node streams, with back-pressure both ways. Each listener is guarded:
 * an exception in one fails that tunnel stream, never the process.
 */
import type { Readable, Writable } from 'node:stream';
import type { TunnelStream } from './stream.js';

/**
 * Streams a Node Readable (a request body, a socket) into a tunnel stream, pausing on back-pressure.
 * A source that closes before its end (a client that went away mid-upload) resets the stream.
 * `ended` runs at the source's end instead of ending the stream at once, for a source that must
 * confirm it first.
 */
export function pipeReadable(source: Readable, stream: TunnelStream, ended: () => void = () => stream.end()): void {
  stream.onWritable = () => source.resume();
  source.on(
    'data',
    stream.guard((chunk: Buffer) => {
      if (!stream.write(chunk)) source.pause();
    }),
  );
  source.on('end', stream.guard(ended));
  source.on(
    'close',
    stream.guard(() => {
      if (!source.readableEnded) stream.reset('cancelled', 'the sender went away before the body ended');
    }),
  );
}

/**
 * Writes what arrives on a tunnel stream into a Node Writable (a response, a socket), and returns
 * credit to the peer only as the writable drains.
 */
export function pipeWritable(stream: TunnelStream, sink: Writable): void {
  let buffered = 0;
  sink.on(
    'drain',
    stream.guard(() => {
      const n = buffered;
      buffered = 0;
      stream.consumed(n);
    }),
  );
  stream.onData = (chunk) => {
    if (sink.write(chunk) && buffered === 0) stream.consumed(chunk.length);
    else buffered += chunk.length;
  };
  stream.onEnd = () => sink.end();
}
