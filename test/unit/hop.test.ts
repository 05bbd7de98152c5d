/** The internal hop's headers: only the cluster's token opens it, whatever else a peer sends (fast-check). */
import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLIENT_HEADER, HOP_HEADER, PROTO_HEADER, answerHeaders, hopToken, inboundHop, outboundHeaders } from '../../relay/cluster/hop';

const token = hopToken('the-cluster-secret-for-tests');
const tokenBytes = Buffer.from(token);

/** A request as node's http server hands it over: lower-case names in `headers`, the raw list beside. */
function incoming(raw: string[]): IncomingMessage {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const existing = headers[name];
    headers[name] = existing === undefined ? raw[i + 1] : ([] as string[]).concat(existing, raw[i + 1]);
  }
  return { headers, rawHeaders: raw } as unknown as IncomingMessage;
}

const headerName = fc.oneof(fc.constantFrom(HOP_HEADER, CLIENT_HEADER, PROTO_HEADER, 'X-Porthole-Hop', 'host', 'connection'), fc.string());
const rawHeaders = fc.array(fc.tuple(headerName, fc.string({ unit: 'binary' })), { maxLength: 12 }).map((pairs) => pairs.flat());

test('only the exact token makes a hop; anything else that claims to be one is forbidden, and nothing throws', () => {
  fc.assert(
    fc.property(rawHeaders, (raw) => {
      const verdict = inboundHop(incoming(raw), tokenBytes);
      const presented = incoming(raw).headers[HOP_HEADER];
      if (presented === undefined) return verdict === undefined;
      if (presented !== token) return verdict === 'forbidden';
      return verdict === 'forbidden' || (typeof verdict === 'object' && (verdict.proto === 'http' || verdict.proto === 'https'));
    }),
    { numRuns: 2000 },
  );
});

test('a hop with the token carries the visitor it names', () => {
  const verdict = inboundHop(incoming([HOP_HEADER, token, CLIENT_HEADER, '203.0.113.9', PROTO_HEADER, 'https']), tokenBytes);
  assert.equal(verdict, { client: '203.0.113.9', proto: 'https' });
  assert.is(inboundHop(incoming([HOP_HEADER, token, CLIENT_HEADER, '203.0.113.9', PROTO_HEADER, 'gopher']), tokenBytes), 'forbidden');
  assert.is(inboundHop(incoming([HOP_HEADER, `${token}x`, CLIENT_HEADER, '1.2.3.4', PROTO_HEADER, 'http']), tokenBytes), 'forbidden');
});

test("outgoing: the visitor's X-Porthole-* and connection headers never cross; the hop adds its own once", () => {
  fc.assert(
    fc.property(rawHeaders, fc.boolean(), (raw, upgrade) => {
      const out = outboundHeaders(incoming(raw), { client: '198.51.100.1', proto: 'http' }, token, upgrade);
      const names = out.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      const values = out.filter((_, i) => i % 2 === 1);
      return (
        names.filter((n) => n === HOP_HEADER).length === 1 &&
        values[names.indexOf(HOP_HEADER)] === token &&
        values[names.indexOf(CLIENT_HEADER)] === '198.51.100.1' &&
        names.filter((n) => n.startsWith('x-porthole-')).length === 3 &&
        !names.includes('transfer-encoding') &&
        !names.includes('keep-alive') &&
        names.filter((n) => n === 'connection').length === (upgrade ? 1 : 0)
      );
    }),
  );
});

test("answers: the hop connection's own headers are dropped, repeated ones kept", () => {
  const raw = [
    'Set-Cookie',
    'a=1',
    'Connection',
    'keep-alive',
    'Set-Cookie',
    'b=2',
    'Transfer-Encoding',
    'chunked',
    'x-porthole-miss',
    '1',
  ];
  assert.equal(answerHeaders(raw), ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
});

test('the hop token is derived from the secret, never the secret itself', () => {
  assert.not.ok(token.includes('the-cluster-secret'));
  assert.is.not(hopToken('another-secret-of-this-length'), token);
});

test.run();
