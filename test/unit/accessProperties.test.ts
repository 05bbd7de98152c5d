/**
 * Properties of the access rules against whatever a visitor sends (fast-check): an open path stays
 * open under every way a local server may read it, and no request target, cookie or header makes
 * the decision throw.
 */
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { globMatches, isOpenPath, parsePathGlob, type PathGlob } from '../../core/pathGlob';
import { accessRules } from '../../relay/access';
import { decideAccess, takeLinkKeys } from '../../relay/admission';

const RUNS = 3000;

/** Segments a request path is built from: plain words, and the tricks servers are known to read differently. */
const PLAIN = fc.oneof(
  fc.constantFrom('webhooks', 'hooks', 'stripe', 'admin', 'a', 'b', 'x', 'x.json', 'sha', 'Webhooks', ''),
  fc.stringMatching(/^[a-z0-9._~-]{1,6}$/),
);
const TRICK = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '%2E.',
    '.%2e',
    '%2e',
    '%2f',
    '%2F',
    '%252e%252e',
    '%252f',
    '%5c',
    '\\',
    '..\\admin',
    ';',
    '..;',
    'x;y',
  ),
  fc.constantFrom(
    '%00',
    '%c0%ae',
    '%c0%ae%c0%ae',
    '‥',
    '%e2%80%a5',
    '．．',
    '%77ebhooks',
    '%73tripe',
    '%41',
    '%',
    '%zz',
    'a%20b',
    '%09',
    '%20',
    'x%20',
    'x.',
    'x%2e',
    '%7f',
  ),
  fc.stringMatching(/^[a-z.%25fFcC;\\/]{0,6}$/),
);
const SEGMENT = fc.oneof({ weight: 2, arbitrary: PLAIN }, { weight: 1, arbitrary: TRICK });
const QUERY = fc.constantFrom('', '?x=1', '?a=/../admin', '?%2e%2e');
const TARGET = fc
  .tuple(fc.array(SEGMENT, { minLength: 0, maxLength: 6 }), QUERY)
  .map(([segments, query]) => `/${segments.join('/')}${query}`);
const GLOB_TEXT = fc.oneof(
  fc.constantFrom(
    '/webhooks/*',
    '/webhooks/**',
    '/hooks/*b',
    '/a*/b',
    '/**/x',
    '/sha',
    '/webhooks/stripe',
    '/*.json',
    '/a/**/b',
    '/hooks/*/x',
  ),
  fc
    .array(fc.constantFrom('a', 'b', '*', '**', 'webhooks', 'x*', '*b'), { minLength: 1, maxLength: 4 })
    .map((parts) => `/${parts.join('/')}`),
);
/**
 * A glob and a target made from it: its wildcards filled with tricky segments, and sometimes a
 * trick put in between, so that most targets come close to matching and many do.
 */
const GLOB_AND_TARGET = GLOB_TEXT.chain((globText) => {
  const parts = globText.slice(1).split('/');
  const fill = parts.map((part) => {
    if (part === '**') return fc.array(SEGMENT, { maxLength: 3 });
    if (!part.includes('*'))
      return fc.oneof(
        { weight: 4, arbitrary: fc.constant([part]) },
        { weight: 1, arbitrary: fc.nat(part.length - 1).map((i) => [percentEncodeAt(part, i)]) },
        { weight: 1, arbitrary: SEGMENT.map((s) => [s]) },
      );
    return fc.tuple(SEGMENT, SEGMENT).map(([a, b]) => [part.replace('*', a).replace('*', b)]);
  });
  return fc
    .tuple(fc.constant(globText), fc.tuple(...fill), fc.option(fc.tuple(fc.nat(6), TRICK), { freq: 2 }), QUERY)
    .map(([g, filled, trick, query]) => {
      const segments = filled.flat();
      if (trick) segments.splice(trick[0] % (segments.length + 1), 0, trick[1]);
      return [g, `/${segments.join('/')}${query}`] as const;
    });
});

/** `part` with its i-th character percent-encoded, as a client may send it. */
function percentEncodeAt(part: string, i: number): string {
  return `${part.slice(0, i)}%${part.charCodeAt(i).toString(16).padStart(2, '0')}${part.slice(i + 1)}`;
}

function compile(text: string): PathGlob {
  const glob = parsePathGlob(text);
  if ('error' in glob) throw new Error(glob.error);
  return glob;
}

/** The path as a local server might read it; undefined where that server would answer 400. */
type Reading = (path: string) => string | undefined;
const decode: Reading = (path) => {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
};
const resolveDots = (path: string) => new URL(`http://origin${path.replace(/\?/g, '%3F').replace(/#/g, '%23')}`).pathname;
const then =
  (...steps: Reading[]): Reading =>
  (path) =>
    steps.reduce<string | undefined>((p, step) => (p === undefined ? undefined : step(p)), path);
const READINGS: [string, Reading][] = [
  ['as sent', (p) => p],
  ['decoded', decode],
  ['decoded twice', then(decode, decode)],
  ['dots resolved, then decoded', then(resolveDots, decode)],
  ['decoded, then dots resolved', then(decode, resolveDots)],
  ['decoded, \\ as /, dots resolved', then(decode, (p) => p.replace(/\\/g, '/'), resolveDots)],
  ['decoded, // collapsed', then(decode, (p) => p.replace(/\/{2,}/g, '/'))],
  ['decoded, ;params cut, dots resolved', then(decode, (p) => p.replace(/;[^/]*/g, ''), resolveDots)],
  ['decoded, NFKC, dots resolved', then(decode, (p) => p.normalize('NFKC'), resolveDots)],
  ['decoded, cut at NUL', then(decode, (p) => p.split('\0')[0])],
  ['decoded, trailing dots and spaces cut (Windows)', then(decode, (p) => p.replace(/[. ]+(?=\/|$)/g, ''))],
  ['decoded twice, dots resolved', then(decode, decode, resolveDots)],
];

test('an open path is open under every reading of it: no traversal or encoding trick leaves the glob', () => {
  let open = 0;
  fc.assert(
    fc.property(
      fc.oneof({ weight: 4, arbitrary: GLOB_AND_TARGET }, { weight: 1, arbitrary: fc.tuple(GLOB_TEXT, TARGET) }),
      ([globText, target]) => {
        const glob = compile(globText);
        if (!isOpenPath([glob], target)) return;
        open++;
        const path = target.split('?')[0];
        for (const [name, read] of READINGS) {
          const seen = read(path);
          if (seen === undefined) continue;
          assert.ok(globMatches(glob, seen.slice(1).split('/')), `${target} is open under ${globText}, but read ${name} it is ${seen}`);
        }
      },
    ),
    { numRuns: RUNS },
  );
  assert.ok(open > RUNS / 10, `only ${open} of ${RUNS} generated targets were open: the property would prove little`);
});

test('plain paths under a glob are open: the matcher is not merely refusing everything', () => {
  const glob = compile('/webhooks/**');
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-zA-Z0-9_-]{1,8}$/), { maxLength: 5 }), (segments) => {
      assert.ok(isOpenPath([glob], `/webhooks/${segments.join('/')}`));
    }),
    { numRuns: 500 },
  );
});

test('no request target, cookie or Authorization header makes the decision throw', () => {
  const made = accessRules({
    protocol: 2,
    agent: 'property',
    basicAuth: 'demo:s3cret',
    access: { linkKey: 'k'.repeat(32), allowIps: ['10.0.0.0/8', '2001:db8::/32'], openPaths: ['/webhooks/**', '/a*b*c*d'] },
  });
  if (!made || 'error' in made) throw new Error('no rules');
  const text = fc.oneof(fc.string({ unit: 'binary' }), TARGET, fc.string({ unit: 'grapheme' }));
  fc.assert(
    fc.property(
      fc.record({
        method: fc.constantFrom('GET', 'HEAD', 'POST', 'OPTIONS', 'X'),
        target: text,
        remote: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()),
        proto: fc.constantFrom('http' as const, 'https' as const),
        host: fc.string(),
        upgrade: fc.boolean(),
        authorization: fc.option(text, { nil: undefined }),
        cookie: fc.option(text, { nil: undefined }),
      }),
      (visitor) => {
        const decision = decideAccess(made, visitor);
        if (decision.ok && decision.forward.target !== undefined) assert.not.ok(decision.forward.target.includes('porthole_key='));
        takeLinkKeys(visitor.target);
      },
    ),
    { numRuns: RUNS },
  );
});

test('long paths against many stars stay quick (no backtracking blow-up)', () => {
  const glob = compile(`/${'*a'.repeat(20)}b/**/${'*a'.repeat(20)}b`);
  const target = `/${'a'.repeat(4000)}/${'x/'.repeat(500)}${'a'.repeat(4000)}`;
  const started = process.hrtime.bigint();
  assert.not.ok(isOpenPath([glob], target));
  // Generous: the point is polynomial, not exponential (which would take hours).
  assert.ok(Number(process.hrtime.bigint() - started) / 1e9 < 10, 'matched within 10 s');
});

test.run();
