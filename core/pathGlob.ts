/**
 * Open paths: globs naming the paths of a protected share that anyone may reach (a webhook's).
 *
 * A pattern is an absolute path of ASCII segments. In a segment, `*` stands for any run of
 * characters, none of them `/` (so `/webhooks/*` matches `/webhooks/stripe` and `/webhooks/`, not
 * `/webhooks/a/b`). A segment that is exactly `**` stands for any number of whole segments, none
 * included: `/webhooks/**` matches `/webhooks`, `/webhooks/` and everything below. Everything
 * else matches itself, case-sensitively. There is no `?`: a pattern never sees the query.
 *
 * A request's path is matched only when it has one meaning. Servers differ in how they read a path
 * (some decode it, some twice, some not at all; they resolve `..`, collapse `//`, treat `\` as `/`,
 * cut `;params` or a trailing dot, fold Unicode), so a path that any of these readings could turn into another path
 * is never open, and the share's protection applies to it. Being open only ever loosens protection; an ambiguous
 * path loses nothing but that.
 */

/** Longest pattern accepted, in characters. */
const MAX_GLOB_LENGTH = 256;

/** A compiled pattern: its text and its segments. */
export interface PathGlob {
  pattern: string;
  segments: string[];
}

/** Characters a pattern may hold: visible ASCII except the ones that mean something else in a URL or a server. */
const PATTERN_TEXT = /^[!$&'()*+,\-./0-9:=@A-Z[\]^_`a-z{|}~]*$/;

/** The compiled `pattern`, or a sentence saying what is wrong with it. */
export function parsePathGlob(pattern: string): PathGlob | { error: string } {
  const fail = (why: string) => ({ error: `Open path "${pattern}" ${why}` });
  if (!pattern.startsWith('/')) return fail('must start with "/", e.g. /webhooks/*.');
  if (pattern.length > MAX_GLOB_LENGTH) return fail(`is longer than ${MAX_GLOB_LENGTH} characters.`);
  if (pattern.includes('?') || pattern.includes('#'))
    return fail('holds "?" or "#": open paths match the path only, never the query; use * for any characters.');
  if (!PATTERN_TEXT.test(pattern))
    return fail('holds a character open paths do not take (spaces, %, ;, \\, quotes or non-ASCII): write the path decoded, in ASCII.');
  const segments = pattern.slice(1).split('/');
  for (const [i, segment] of segments.entries()) {
    if (segment === '' && i < segments.length - 1) return fail('has an empty segment ("//").');
    if (segment === '.' || segment === '..') return fail('has a "." or ".." segment.');
    if (segment.endsWith('.')) return fail('has a segment ending in ".", which no request path opens (servers on Windows drop it).');
    if (segment.includes('**') && segment !== '**') return fail('uses ** inside a segment: ** stands for whole segments, as in /hooks/**.');
  }
  return { pattern, segments };
}

/**
 * True when the request target's path is open: it has one meaning, and it matches one of `globs`
 * both as sent and decoded, so a server that decodes it and one that does not both see an open path.
 */
export function isOpenPath(globs: readonly PathGlob[], target: string): boolean {
  const path = plainPath(target);
  if (!path) return false;
  const matches = (segments: string[]) => globs.some((glob) => globMatches(glob, segments));
  return matches(path.decoded) && matches(path.raw);
}

/**
 * The segments of a request target's path, as sent and decoded, when that path has one meaning;
 * undefined when it is ambiguous (see the module comment) or not a path at all (`*`, `http://…`).
 */
export function plainPath(target: string): { raw: string[]; decoded: string[] } | undefined {
  const end = target.search(/[?#]/);
  if (target[end] === '#') return undefined;
  const path = end < 0 ? target : target.slice(0, end);
  if (!path.startsWith('/')) return undefined;
  const raw = path.slice(1).split('/');
  const decoded: string[] = [];
  for (const [i, segment] of raw.entries()) {
    const text = decodeSegment(segment);
    if (text === undefined) return undefined;
    if (text === '' && i < raw.length - 1) return undefined;
    // `.` and `..`, and any name ending in a dot, which servers on Windows drop.
    if (text.endsWith('.')) return undefined;
    decoded.push(text);
  }
  return { raw, decoded };
}

/** True when the path `segments` (from plainPath) match `glob`. */
export function globMatches(glob: PathGlob, segments: readonly string[]): boolean {
  return wildcardMatch(glob.segments, segments, (p) => p === '**', segmentMatches);
}

function segmentMatches(pattern: string, segment: string): boolean {
  return wildcardMatch(
    [...pattern],
    [...segment],
    (p) => p === '*',
    (p, c) => p === c,
  );
}

/**
 * Glob matching over sequences where `isStar(p)` matches any run of items: the iterative algorithm
 * that remembers only the last star, so it takes at most pattern × input steps, however many stars.
 */
function wildcardMatch<T>(
  pattern: readonly T[],
  input: readonly T[],
  isStar: (p: T) => boolean,
  same: (p: T, item: T) => boolean,
): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let resume = 0;
  while (i < input.length) {
    if (p < pattern.length && isStar(pattern[p])) {
      star = p++;
      resume = i;
    } else if (p < pattern.length && same(pattern[p], input[i])) {
      p++;
      i++;
    } else if (star >= 0) {
      p = star + 1;
      i = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && isStar(pattern[p])) p++;
  return p === pattern.length;
}

/**
 * One segment decoded, or undefined when a server could read it as something else: a malformed
 * escape, an escaped `/` or `%` (a server that decodes twice), anything outside visible ASCII, a
 * backslash (some servers read it as `/`) and a `;` (some cut `;params` off a segment).
 */
function decodeSegment(segment: string): string | undefined {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    let code = segment.charCodeAt(i);
    if (code === 0x25) {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      code = Number.parseInt(hex, 16);
      if (code === 0x2f || code === 0x5c || code === 0x25) return undefined;
      i += 2;
    }
    if (code <= 0x20 || code >= 0x7f || code === 0x5c || code === 0x3b) return undefined;
    out += String.fromCharCode(code);
  }
  return out;
}
