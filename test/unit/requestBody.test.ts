import zlib from 'node:zlib';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bodyKind, bodyView, decodeBody, hexDump, looksLikeUtf8Text, MAX_HEX_BYTES } from '../../extension/requestLog/body.js';
import { highlight, jsonTokens, markupTokens, MAX_HIGHLIGHT_CHARS, type Token } from '../../extension/requestLog/highlight.js';

const joined = (tokens: Token[]) => tokens.map(([, text]) => text).join('');
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

test('JSON is pretty-printed and highlighted: keys, strings, numbers, literals, punctuation', () => {
  const view = bodyView(Buffer.from('{"a":1,"b":[true,null,"x"]}'), ['content-type', 'application/json; charset=utf-8'], 27, false);
  assert.is(view.kind, 'json');
  assert.is(view.raw, '{"a":1,"b":[true,null,"x"]}');
  assert.is(joined(view.pretty ?? []), '{\n  "a": 1,\n  "b": [\n    true,\n    null,\n    "x"\n  ]\n}');
  const kinds = new Map((view.pretty ?? []).map(([kind, text]) => [text.trim(), kind]));
  assert.is(kinds.get('"a"'), 'key');
  assert.is(kinds.get('1'), 'number');
  assert.is(kinds.get('true'), 'literal');
  assert.is(kinds.get('"x"'), 'string');
  assert.is(view.editable, '{"a":1,"b":[true,null,"x"]}');
  assert.is(view.summary, 'JSON · 27 B');
});

test('a cut body is shown as kept, and the cut is said, never silent', () => {
  const view = bodyView(Buffer.from('{"a":[1,2,'), ['Content-Type', 'application/problem+json'], 5000, true);
  assert.is(view.raw, '{"a":[1,2,');
  assert.is(joined(view.pretty ?? []), '{"a":[1,2,', 'invalid JSON is highlighted as it is');
  assert.is(view.cut, 'Only the first 10 B of 4.9 KiB were kept (porthole.requestLog.captureBytes).');
  assert.is(view.editable, undefined, 'a cut body is not offered as the whole body');
});

test('form data: one decoded field a line', () => {
  const view = bodyView(
    Buffer.from('name=J%C3%BCrgen+M&tags=a%26b&flag'),
    ['content-type', 'application/x-www-form-urlencoded'],
    33,
    false,
  );
  assert.is(view.kind, 'form');
  assert.is(joined(view.pretty ?? []), 'name = Jürgen M\ntags = a&b\nflag');
  assert.equal(view.pretty?.[0], ['key', 'name']);
});

test('HTML, XML and SVG are highlighted as markup, and SVG is never an image', () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>';
  const view = bodyView(Buffer.from(svg), ['content-type', 'image/svg+xml'], svg.length, false);
  assert.is(view.kind, 'xml');
  assert.is(view.image, undefined);
  assert.is(joined(view.pretty ?? []), svg);
  assert.ok(view.pretty?.some(([kind, text]) => kind === 'attr' && text === 'onload'));
  assert.ok(view.pretty?.some(([kind, text]) => kind === 'tag' && text.includes('<script')));
  assert.is(bodyView(Buffer.from('<p>x</p>'), ['content-type', 'text/html'], 8, false).kind, 'html');
});

test('raster images become data: URLs; other binaries a hex dump', () => {
  const image = bodyView(PNG, ['content-type', 'image/png'], PNG.length, false);
  assert.is(image.kind, 'image');
  assert.is(image.image, `data:image/png;base64,${PNG.toString('base64')}`);
  assert.ok(image.hex?.startsWith('00000000  89 50 4e 47 0d 0a 1a 0a  00 00 00 0d 49 48 44 52  |.PNG........IHDR|'));
  const binary = bodyView(Buffer.from([0, 1, 2, 255]), [], 4, false);
  assert.is(binary.kind, 'binary');
  assert.is(binary.raw, undefined);
  assert.is(binary.hex, `00000000  ${'00 01 02 ff'.padEnd(23)}  ${''.padEnd(23)}  |....|`);
  assert.equal(bodyView(Buffer.alloc(0), [], 0, false), { kind: 'empty', summary: 'No body' });
});

test('the hex view is bounded and says so', () => {
  const dump = hexDump(Buffer.alloc(MAX_HEX_BYTES + 1));
  assert.is(dump.split('\n').length, MAX_HEX_BYTES / 16 + 1);
  assert.match(dump, /… the hex view shows the first 64 KiB of 64 KiB$/);
});

test('gzip, x-gzip, deflate (zlib and raw), br and stacked encodings decode; a cut capture decodes as far as it goes', () => {
  const text = 'line of text\n'.repeat(2000);
  for (const [encoding, bytes] of [
    ['gzip', zlib.gzipSync(text)],
    ['x-gzip', zlib.gzipSync(text)],
    ['deflate', zlib.deflateSync(text)],
    ['deflate', zlib.deflateRawSync(text)],
    ['br', zlib.brotliCompressSync(text)],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
  ] as const) {
    const decoded = decodeBody(bytes, encoding);
    assert.is(decoded.problem, undefined, encoding);
    assert.is(decoded.bytes.toString(), text, encoding);
  }
  const noisy = Array.from({ length: 40_000 }, (_, i) => String.fromCharCode(32 + ((i * 7919) % 90))).join('');
  const cut = bodyView(zlib.gzipSync(noisy).subarray(0, 4096), ['content-type', 'text/plain', 'content-encoding', 'gzip'], 40_000, true);
  assert.is(cut.kind, 'text');
  assert.ok((cut.raw ?? '').length > 3000 && noisy.startsWith(cut.raw ?? 'x'));
  assert.match(cut.summary, /gzip-compressed/);
  assert.is(cut.editable, undefined);
});

test('what cannot be decoded is said, and shown as bytes', () => {
  const broken = bodyView(Buffer.from('not gzip'), ['content-encoding', 'gzip'], 8, false);
  assert.is(broken.kind, 'binary');
  assert.match(broken.summary, /gzip-compressed, but it does not decode/);
  assert.match(decodeBody(Buffer.from('x'), 'compress').problem ?? '', /compress-encoded, which Porthole cannot decode/);
  const zstd = decodeBody(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd');
  if ('zstdDecompressSync' in zlib) assert.not.ok(zstd.problem?.includes('cannot decode zstd'));
  else assert.match(zstd.problem ?? '', /this Node \(v\d+\.\d+\.\d+\) cannot decode zstd \(Node 22\.15 and newer can\)/);
});

test('text sniffing tolerates a multi-byte character cut by the capture limit', () => {
  const euro = Buffer.from('price: 5 €');
  assert.ok(looksLikeUtf8Text(euro, false));
  assert.ok(looksLikeUtf8Text(euro.subarray(0, euro.length - 1), true));
  assert.not.ok(looksLikeUtf8Text(euro.subarray(0, euro.length - 1), false));
  assert.not.ok(looksLikeUtf8Text(Buffer.from([0x41, 0x00, 0x42]), false));
  assert.is(bodyKind(undefined, Buffer.from('plain words'), false), 'text');
  assert.is(bodyKind('application/octet-stream', Buffer.from('plain words'), false), 'binary');
});

test('highlighting: long bodies are highlighted up to a bound, the rest stays plain text', () => {
  const long = `[${'1,'.repeat(MAX_HIGHLIGHT_CHARS)}1]`;
  const tokens = highlight(long, 'json');
  assert.is(joined(tokens), long);
  assert.equal(tokens[tokens.length - 1][0], 'text');
});

// Bodies come from visitors: any text must tokenize without throwing, and the tokens must cover it exactly.
test('property: every tokenizer returns tokens that join back into its input, for any text', () => {
  const markupish = fc.stringMatching(/^[<>/="'!\-?[\]a-z\s]{0,60}$/);
  const jsonish = fc.stringMatching(/^[{}[\],:"\\0-9eE+.\-a-z\s]{0,60}$/);
  for (const text of [fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), markupish, jsonish]) {
    fc.assert(
      fc.property(text, (input) => {
        for (const tokens of [jsonTokens(input), markupTokens(input), highlight(input, 'json'), highlight(input, 'markup')]) {
          if (joined(tokens) !== input) return false;
          if (tokens.some(([, t]) => typeof t !== 'string')) return false;
        }
        return true;
      }),
      // Found by this property: a tag name ending in "?" read the "?" twice, as name and as end.
      { numRuns: 300, examples: [['<a?>'], ['<a/>'], ['<?xml ?>']] },
    );
  }
});

test('property: any bytes with any content type and encoding make a view without throwing', () => {
  const types = fc.constantFrom(
    'application/json',
    'text/html',
    'image/png',
    'image/svg+xml',
    'application/x-www-form-urlencoded',
    '',
    'x/\u0000',
  );
  const encodings = fc.constantFrom(undefined, 'gzip', 'br', 'deflate', 'zstd', 'identity', 'gzip, br', '\u00ff');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), types, encodings, fc.boolean(), (bytes, type, encoding, cut) => {
      const headers = ['content-type', type, ...(encoding ? ['content-encoding', encoding] : [])];
      const view = bodyView(Buffer.from(bytes), headers, bytes.length + (cut ? 10 : 0), cut);
      return typeof view.summary === 'string' && (view.image === undefined || view.image.startsWith('data:image/png;base64,'));
    }),
    { numRuns: 300 },
  );
});

test.run();
