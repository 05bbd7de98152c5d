/**
 * What a hostile peer can send, as fast-check arbitraries, and the run settings every property
 * shares: PORTHOLE_FUZZ_SCALE multiplies the number of runs (`npm run fuzz` sets 10), and a failure
 * prints the seed and path that PORTHOLE_FUZZ_SEED and PORTHOLE_FUZZ_PATH replay.
 */
import fc from 'fast-check';
import { FrameType, HEADER_BYTES } from '../../core/protocol';

/** fast-check settings for a property meant to run `runs` times in `npm test`. */
export function runs<T>(runs: number): fc.Parameters<T> {
  const scale = Number(process.env.PORTHOLE_FUZZ_SCALE ?? 1);
  const seed = process.env.PORTHOLE_FUZZ_SEED;
  return {
    numRuns: Math.max(1, Math.round(runs * scale)),
    includeErrorInReport: true,
    ...(seed ? { seed: Number(seed), path: process.env.PORTHOLE_FUZZ_PATH } : {}),
  };
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/**
 * Text longer than a close reason or a log line shows whole, half of it any code point: peer text
 * ends up quoted in messages, and a quote is where a byte limit meets a character count.
 */
export const longText: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(fc.constantFrom('a', '-'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  minLength: 30,
  maxLength: 90,
});

/** Text for any field: any code point, latin1 and control characters, lone surrogates, separators, empty, or long. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  longText,
  fc.string({ unit: fc.oneof(loneSurrogate, fc.constantFrom('a', '\n', '\r', 'ÿ', 'Ā', '😀')), maxLength: 12 }),
  fc.constantFrom('', ' ', '\n', '\r\n', '\0', 'ÿ'.repeat(40), '😀'.repeat(40), 'x'.repeat(5000)),
);

/** An HTTP token (a method, a header name), mostly well-formed. */
export const token: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('GET', 'POST', 'HEAD', 'x-test', 'Set-Cookie', 'content-length', 'Transfer-Encoding', 'Host', 'connection'),
  fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/),
  anyText,
);

/** Bytes of `text` as a peer might write them: latin1 (what heads are) or UTF-8 (what they are not). */
export const encoded = (text: fc.Arbitrary<string>): fc.Arbitrary<Buffer> =>
  fc.tuple(text, fc.constantFrom<BufferEncoding>('latin1', 'utf8')).map(([t, encoding]) => Buffer.from(t, encoding));

/** Stream ids: the first few a tunnel opens, stream 0, and absurd ones. */
export const streamId: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 5 }),
  fc.constantFrom(99, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.nat(),
);

/** A head's fields as LF-separated text: right-looking ones, or anything at all. */
export const headFields: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .tuple(
      fc.oneof(fc.constantFrom('200', '101', '204', '304', '999', '099', '1000', '-1', ''), fc.stringMatching(/^\d{1,4}$/)),
      fc.oneof(fc.constantFrom('', 'OK'), anyText),
      fc.array(fc.tuple(token, anyText), { maxLength: 6 }),
    )
    .chain(([status, reason, headers]) => encoded(fc.constant([status, reason, ...headers.flat()].join('\n')))),
  encoded(fc.array(anyText, { maxLength: 10 }).map((fields) => fields.join('\n'))),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
);

/** A JSON control payload: the right shape with odd values, any JSON at all, or bytes that are not JSON. */
export const controlPayload: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .record({
      protocol: fc.oneof(fc.constant(2), fc.jsonValue()),
      code: fc.oneof(fc.constantFrom('unreachable', 'timeout', 'cancelled', 'internal', 'token', 'bogus'), fc.jsonValue()),
      message: fc.oneof(anyText, fc.jsonValue()),
      url: fc.oneof(fc.constantFrom('http://a.localhost', 'command:x', 'javascript:1', 'https://['), anyText),
      subdomain: fc.oneof(anyText, fc.jsonValue()),
      resume: fc.oneof(anyText, fc.jsonValue()),
      heartbeat: fc.oneof(fc.double(), fc.jsonValue()),
      maxFrame: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
      link: fc.oneof(fc.constantFrom('https://a.localhost/?k=1', 'javascript:1', 'https://['), anyText, fc.jsonValue()),
      access: fc.oneof(
        fc.record({ password: fc.boolean(), privateLink: fc.boolean(), allowIps: fc.integer(), openPaths: fc.nat() }),
        fc.jsonValue(),
      ),
    })
    .map((value) => Buffer.from(JSON.stringify(value))),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? '')),
  encoded(anyText),
);

/** A payload for a frame of `type`, in the shape that type has, or not. */
export function payloadFor(type: number): fc.Arbitrary<Buffer> {
  switch (type) {
    case FrameType.Open:
    case FrameType.Response:
      return headFields;
    case FrameType.Data:
      return fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
        fc.constantFrom(16 * 1024, 256 * 1024, 256 * 1024 + 1).map((n) => Buffer.alloc(n, 1)),
      );
    case FrameType.End:
      return fc.oneof(
        fc.constant(Buffer.alloc(0)),
        fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
      );
    case FrameType.Window:
      return fc.oneof(
        fc
          .constantFrom(0, 1, 65536, 0x7fffffff, 0xffffffff)
          .map((n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])),
        fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
      );
    default:
      return controlPayload;
  }
}

/** Every frame type, and some that are none. */
export const frameType: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 10 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

/** One well-framed frame of any type, for any stream, with a payload of its type's shape or not. */
export const frame: fc.Arbitrary<Buffer> = fc
  .tuple(frameType, streamId)
  .chain(([type, stream]) => payloadFor(type).map((payload) => header(type, stream, payload.length, payload)));

/** A frame header that may lie about its length, followed by however many bytes. */
export const lyingFrame: fc.Arbitrary<Buffer> = fc
  .tuple(frameType, streamId, fc.oneof(fc.nat({ max: 300 }), fc.constantFrom(0xffffffff, 0x80000000, 128 * 1024 + 1)))
  .chain(([type, stream, length]) => fc.uint8Array({ maxLength: 300 }).map((bytes) => header(type, stream, length, Buffer.from(bytes))));

/** One WebSocket message: several frames, a lying one, bytes cut anywhere, or noise. */
export const message: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 6, arbitrary: fc.array(frame, { minLength: 1, maxLength: 4 }).map((frames) => Buffer.concat(frames)) },
  { weight: 1, arbitrary: lyingFrame },
  { weight: 1, arbitrary: frame.chain((f) => fc.nat({ max: f.length }).map((cut) => f.subarray(0, cut))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)) },
);

function header(type: number, stream: number, length: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(HEADER_BYTES);
  head[0] = type;
  head.writeUInt32BE(stream >>> 0, 1);
  head.writeUInt32BE(length >>> 0, 5);
  return Buffer.concat([head, payload]);
}
