import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FrameType,
  HEADER_BYTES,
  MAX_FRAME_PAYLOAD,
  MAX_HEAD_BYTES,
  ProtocolError,
  decodeFrames,
  decodeJson,
  decodeWindow,
  encodeFrame,
  encodeJson,
  encodeWindow,
  type GoAway,
  type Hello,
  type Refusal,
  type RequestHead,
  type Reset,
  type ResponseHead,
  type Welcome,
} from '../../core/protocol';
import { decodeRequestHead, decodeResponseHead, encodeRequestHead, encodeResponseHead } from '../../core/heads';

const hello: Hello = { protocol: 1, agent: '0.1.0', token: 't0k3n', subdomain: 'myapp', resume: 'secret-secret-secret', basicAuth: 'u:p' };
const welcome: Welcome = {
  url: 'http://myapp.localhost:8080',
  subdomain: 'myapp',
  resume: 'secret-secret-secret',
  heartbeat: 15,
  maxFrame: 262144,
};
const refusal: Refusal = { code: 'taken', message: 'The subdomain "myapp" is already taken.' };
const open: RequestHead = {
  method: 'POST',
  path: '/a?b=c',
  headers: ['Host', 'x', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'],
  body: true,
  remote: '127.0.0.1',
};
const response: ResponseHead = { status: 200, statusText: 'OK', headers: ['content-type', 'text/plain'] };
const reset: Reset = { code: 'unreachable', message: 'Nothing is listening on localhost:5173' };
const goAway: GoAway = { reason: 'the relay is restarting' };

test('every control frame round-trips through one batched message, and so do both heads', () => {
  const frames: [FrameType, number, unknown][] = [
    [FrameType.Hello, 0, hello],
    [FrameType.Welcome, 0, welcome],
    [FrameType.Refuse, 0, refusal],
    [FrameType.Reset, 7, reset],
    [FrameType.GoAway, 0, goAway],
  ];
  const message = Buffer.concat([
    ...frames.map(([type, stream, value]) => encodeJson(type, stream, value)),
    encodeRequestHead(7, open),
    encodeResponseHead(7, response),
  ]);
  const decoded = decodeFrames(message);
  assert.is(decoded.length, frames.length + 2);
  frames.forEach(([type, stream, value], i) => {
    assert.is(decoded[i].type, type);
    assert.is(decoded[i].stream, stream);
    assert.equal(decodeJson(decoded[i], 'frame'), value);
  });
  const [openFrame, responseFrame] = decoded.slice(frames.length);
  assert.is(openFrame.type, FrameType.Open);
  assert.equal(decodeRequestHead(openFrame), open);
  assert.is(responseFrame.type, FrameType.Response);
  assert.equal(decodeResponseHead(responseFrame), response);
});

test('DATA, END and WINDOW round-trip, and payloads are views, not copies', () => {
  const body = Buffer.from('x'.repeat(1000));
  const message = Buffer.concat([encodeFrame(FrameType.Data, 3, body), encodeFrame(FrameType.End, 3), encodeWindow(3, 65536)]);
  const [data, end, window] = decodeFrames(message);
  assert.is(data.type, FrameType.Data);
  assert.ok(data.payload.equals(body));
  assert.is(data.payload.buffer, message.buffer);
  assert.is(end.type, FrameType.End);
  assert.is(end.payload.length, 0);
  assert.is(window.type, FrameType.Window);
  assert.is(decodeWindow(window), 65536);
});

test('malformed input is a ProtocolError that says what is wrong', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.from([6, 0, 0]), /truncated frame header/],
    [Buffer.from([99, 0, 0, 0, 1, 0, 0, 0, 0]), /unknown frame type 99/],
    [Buffer.concat([encodeFrame(FrameType.Data, 1, Buffer.alloc(10))]).subarray(0, HEADER_BYTES + 4), /claims 10 bytes but only 4 follow/],
  ];
  for (const [message, pattern] of cases) {
    assert.throws(
      () => decodeFrames(message),
      (e: Error) => e instanceof ProtocolError && pattern.test(e.message),
    );
  }
  const oversized = Buffer.alloc(HEADER_BYTES);
  oversized[0] = FrameType.Data;
  oversized.writeUInt32BE(MAX_FRAME_PAYLOAD + 1, 5);
  assert.throws(() => decodeFrames(oversized), /exceeds the 262144-byte limit/);
});

test('frames are checked before anyone relies on them: JSON, sizes, WINDOW grants', () => {
  const [notJson] = decodeFrames(encodeFrame(FrameType.Reset, 1, Buffer.from('{oops')));
  assert.throws(() => decodeJson(notJson, 'RESET'), /not valid JSON/);
  assert.throws(() => decodeFrames(encodeFrame(FrameType.Open, 1, Buffer.alloc(MAX_HEAD_BYTES + 1, 32))), /exceeds the 131072-byte limit/);
  assert.throws(
    () => decodeFrames(encodeFrame(FrameType.Data, 1, Buffer.alloc(20_000)), 16_384),
    /exceeds the 16384-byte limit/,
    'DATA obeys the negotiated limit',
  );
  assert.is(
    decodeFrames(encodeFrame(FrameType.Response, 1, Buffer.alloc(20_000, 32)), 16_384).length,
    1,
    'heads are not held to the DATA limit',
  );
  const [zero] = decodeFrames(encodeWindow(1, 0));
  assert.throws(() => decodeWindow(zero), /grants 0 bytes/);
});

test.run();
