/**
 * Every decoder, over whatever bytes a peer can send: the answer is a value or a ProtocolError,
 * never another exception; and what a decoder lets through is safe for its consumer (Node writes a
 * decoded response head without throwing, a WELCOME's numbers cannot spin a timer or a loop).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import {
  DATA_FRAME_BYTES,
  MAX_FRAME_PAYLOAD,
  ProtocolError,
  decodeFrames,
  decodeJson,
  decodeWindow,
  type Frame,
} from '../../core/protocol';
import { checkHello, checkRefusal, checkReset, checkWelcome } from '../../core/controlChecks';
import { decodeRequestHead, decodeResponseHead, encodeRequestHead, encodeResponseHead } from '../../core/heads';
import { closeReason, MAX_CLOSE_REASON_BYTES } from '../../core/close';
import { anyText, frame, frameType, message, payloadFor, runs, streamId, token } from './arbitraries';

/** Runs `decode`; true for a value or a ProtocolError, and any other exception fails the property with it. */
function valueOrProtocolError(decode: () => unknown): true {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
  }
  return true;
}

const aFrame: fc.Arbitrary<Frame> = fc
  .tuple(frameType, streamId)
  .chain(([type, stream]) => payloadFor(type).map((payload) => ({ type, stream, payload })));

/** Every way a frame's payload is read, as the relay and the agent read them. */
const DECODERS: [string, (f: Frame) => unknown][] = [
  ['OPEN', (f) => decodeRequestHead(f)],
  ['RESPONSE', (f) => decodeResponseHead(f)],
  ['WINDOW', (f) => decodeWindow(f)],
  ['HELLO', (f) => checkHello(decodeJson(f, 'HELLO'))],
  ['WELCOME', (f) => checkWelcome(decodeJson(f, 'WELCOME'))],
  ['REFUSE', (f) => checkRefusal(decodeJson(f, 'REFUSE'))],
  ['RESET', (f) => checkReset(decodeJson(f, 'RESET'), f.stream)],
];

test('decodeFrames: any bytes, any message, any frame limit → frames or a ProtocolError', () => {
  const bytes = fc.oneof(
    message,
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b)),
  );
  const limit = fc.oneof(fc.constant(MAX_FRAME_PAYLOAD), fc.constant(DATA_FRAME_BYTES), fc.nat({ max: 1000 }));
  fc.assert(
    fc.property(bytes, limit, (data, maxData) => valueOrProtocolError(() => decodeFrames(data, maxData))),
    runs(3000),
  );
});

for (const [name, decode] of DECODERS) {
  test(`${name}: any frame of any type → a value or a ProtocolError`, () => {
    fc.assert(
      fc.property(aFrame, (f) => valueOrProtocolError(() => decode(f))),
      runs(1000),
    );
  });
}

test('every frame decodeFrames accepts is read by every decoder without any other exception', () => {
  fc.assert(
    fc.property(frame, (data) => {
      let frames: Frame[] = [];
      valueOrProtocolError(() => {
        frames = decodeFrames(data);
      });
      for (const f of frames) for (const [, decode] of DECODERS) valueOrProtocolError(() => decode(f));
      return true;
    }),
    runs(1000),
  );
});

test('a RESPONSE head that decodes is one Node writes without throwing', () => {
  const socket = new net.Socket();
  fc.assert(
    fc.property(aFrame, (f) => {
      let head: ReturnType<typeof decodeResponseHead>;
      try {
        head = decodeResponseHead(f);
      } catch (error) {
        if (error instanceof ProtocolError) return true;
        throw error;
      }
      const res = new http.ServerResponse(new http.IncomingMessage(socket));
      res.writeHead(head.status, head.statusText, head.headers);
      return true;
    }),
    runs(1000),
  );
});

test('a WELCOME that passes its check has http(s) URLs, and numbers no timer or loop chokes on', () => {
  fc.assert(
    fc.property(aFrame, (f) => {
      let welcome: ReturnType<typeof checkWelcome>;
      try {
        welcome = checkWelcome(decodeJson(f, 'WELCOME'));
      } catch (error) {
        if (error instanceof ProtocolError) return true;
        throw error;
      }
      assert.ok(['http:', 'https:'].includes(new URL(welcome.url).protocol));
      assert.ok(welcome.heartbeat >= 0.1 && welcome.heartbeat * 1000 < 2 ** 31);
      assert.ok(welcome.maxFrame === undefined || (Number.isInteger(welcome.maxFrame) && welcome.maxFrame >= DATA_FRAME_BYTES));
      assert.ok(welcome.link === undefined || ['http:', 'https:'].includes(new URL(welcome.link).protocol));
      assert.ok(welcome.access === undefined || (welcome.access.allowIps >= 0 && typeof welcome.access.password === 'boolean'));
      return true;
    }),
    runs(1000),
  );
});

test('heads with any text in any field encode without throwing, and decode to as many fields', () => {
  const head = fc.record({
    method: fc.oneof(token, anyText).filter((m) => m.length > 0),
    path: anyText,
    remote: anyText,
    headers: fc.array(fc.tuple(token, anyText), { maxLength: 6 }).map((pairs) => pairs.flat()),
    body: fc.boolean(),
    upgrade: fc.boolean(),
  });
  fc.assert(
    fc.property(head, streamId, (h, stream) => {
      const [decoded] = decodeFrames(encodeRequestHead(stream, h));
      const back = decodeRequestHead(decoded);
      assert.is(back.headers.length, h.headers.length);
      assert.is(back.upgrade ?? false, h.upgrade);
      return true;
    }),
    runs(1000),
  );
  const response = fc.record({ status: fc.integer({ min: 100, max: 999 }), statusText: anyText, headers: head.map((h) => h.headers) });
  fc.assert(
    fc.property(response, streamId, (r, stream) => {
      const [decoded] = decodeFrames(encodeResponseHead(stream, r));
      return valueOrProtocolError(() => decodeResponseHead(decoded));
    }),
    runs(1000),
  );
});

test('well-formed latin1 heads come back exactly as they were sent', () => {
  // RFC 9110 field text: visible ASCII, space, tab and obs-text (no DEL, no other controls).
  const fieldChar = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }), fc.constant(0x09));
  const fieldValue = fc.string({ unit: fieldChar.map((c) => String.fromCharCode(c)), maxLength: 30 });
  const name = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,20}$/);
  const headers = fc.array(fc.tuple(name, fieldValue), { maxLength: 8 }).map((pairs) => pairs.flat());
  fc.assert(
    fc.property(
      fc.record({ status: fc.integer({ min: 100, max: 999 }), statusText: fieldValue.filter((t) => t.length > 0), headers }),
      streamId,
      (head, stream) => {
        assert.equal(decodeResponseHead(decodeFrames(encodeResponseHead(stream, head))[0]), { ...head });
        return true;
      },
    ),
    runs(1000),
  );
});

test(`closeReason: any text fits the ${MAX_CLOSE_REASON_BYTES} bytes of a close frame, cut only when it must be, at a character boundary`, () => {
  const text = fc.oneof(anyText, fc.string({ unit: 'binary', minLength: 30, maxLength: 200 }));
  fc.assert(
    fc.property(text, (t) => {
      const reason = closeReason(t);
      const whole = Buffer.from(t).toString();
      assert.ok(Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES, `${Buffer.byteLength(reason)} bytes`);
      if (Buffer.byteLength(t) <= MAX_CLOSE_REASON_BYTES) assert.is(reason, t);
      else {
        assert.ok(reason.endsWith('…'));
        assert.ok(whole.startsWith(reason.slice(0, -1)), 'a prefix of the text, no character split');
      }
      return true;
    }),
    runs(3000),
  );
});

test.run();
