import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRequestHead, decodeResponseHead, encodeRequestHead, encodeResponseHead } from '../../core/heads';
import { FrameType, decodeFrames, encodeFrame, type RequestHead, type ResponseHead } from '../../core/protocol';

test('heads keep what HTTP allows: obs-text, empty values, upgrades, no remote, no reason', () => {
  const upgrade: RequestHead = { method: 'GET', path: '/ws?q=\u00e9', headers: ['X-Empty', '', 'X-Latin', 'caf\u00e9'], upgrade: true };
  assert.equal(decodeRequestHead(decodeFrames(encodeRequestHead(1, upgrade))[0]), upgrade);
  const bare: ResponseHead = { status: 204, headers: [] };
  assert.equal(decodeResponseHead(decodeFrames(encodeResponseHead(1, bare))[0]), bare);
  const unicodeReason = decodeResponseHead(decodeFrames(encodeResponseHead(1, { status: 200, statusText: 'OK \u010a ✓', headers: [] }))[0]);
  assert.equal(unicodeReason, { status: 200, headers: [] }, 'a reason phrase latin1 cannot carry is left out, never cut into a LF');
  const smuggled: RequestHead = { method: 'GET', path: '/', headers: ['X-A', 'a\u010aInjected: evil', 'X-B', 'b\nc'] };
  assert.equal(
    decodeRequestHead(decodeFrames(encodeRequestHead(1, smuggled))[0]).headers,
    ['X-A', 'a?Injected: evil', 'X-B', 'b?c'],
    'a field can never become two: what latin1 cannot carry, and LF, are replaced',
  );
});

test('heads are checked before anyone relies on them: fields, status, reason, header names and values', () => {
  const head = (type: FrameType, text: string) => decodeFrames(encodeFrame(type, 1, Buffer.from(text, 'latin1')))[0];
  assert.throws(() => decodeRequestHead(head(FrameType.Open, '')), /OPEN on stream 1 lacks method, path or headers/);
  assert.throws(() => decodeRequestHead(head(FrameType.Open, 'GET\n/\n\n\nodd')), /lacks method, path or headers/);
  assert.throws(() => decodeRequestHead(head(FrameType.Open, 'GET\n/\n\nsideways')), /lacks method, path or headers/);
  assert.throws(() => decodeResponseHead(head(FrameType.Response, '42\n')), /no valid status/);
  assert.throws(() => decodeResponseHead(head(FrameType.Response, 'abc\nOK')), /no valid status/);
  assert.throws(() => decodeResponseHead(head(FrameType.Response, '200\nOK\nx')), /no valid status or headers/);
  assert.throws(() => decodeResponseHead(head(FrameType.Response, '200\nOK\rx: y')), /invalid status text/);
  assert.throws(() => decodeResponseHead(head(FrameType.Response, '200\n\nx\na\rb: c')), /invalid header "x"/);
  assert.throws(() => decodeResponseHead(head(FrameType.Response, '200\n\nbad name\nx')), /invalid header "bad name"/);
});

test.run();
