/**
 * Syntax highlighting for request and response bodies, as data: a body becomes a list of tokens
 * (a kind and the exact text it covers), and the page turns each into a text node inside a span.
 * No markup is ever built from a body. Every tokenizer takes any text, valid or not (a capture can
 * be cut anywhere), and its tokens always join back into exactly the text it was given.
 */

/** key: a JSON member name or form field name; string, number, literal (true/false/null); punct; tag and attr (markup); comment; text (plain). */
export type TokenKind = 'key' | 'string' | 'number' | 'literal' | 'punct' | 'tag' | 'attr' | 'comment' | 'text';
export type Token = [kind: TokenKind, text: string];
export type Language = 'json' | 'markup' | 'text';

/** Past this many characters a body is shown as plain text: tens of thousands of spans slow the page. */
export const MAX_HIGHLIGHT_CHARS = 200_000;

export function highlight(text: string, language: Language): Token[] {
  const head = text.length > MAX_HIGHLIGHT_CHARS ? text.slice(0, MAX_HIGHLIGHT_CHARS) : text;
  const tokens: Token[] = language === 'json' ? jsonTokens(head) : language === 'markup' ? markupTokens(head) : [['text', head]];
  if (head.length < text.length) tokens.push(['text', text.slice(head.length)]);
  return merge(tokens);
}

/** Adjacent tokens of one kind become one (fewer spans), and empty ones go. */
function merge(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (const [kind, text] of tokens) {
    if (!text) continue;
    const last = out[out.length - 1];
    if (last && last[0] === kind) last[1] += text;
    else out.push([kind, text]);
  }
  return out;
}

const JSON_TOKEN = /"(?:[^"\\\n]|\\.)*"?|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\b(?:true|false|null)\b|[{}[\],:]/g;

/** JSON, or anything that looks like it: strings, numbers, literals and punctuation; the rest is text. */
export function jsonTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  for (const match of text.matchAll(JSON_TOKEN)) {
    const index = match.index ?? 0;
    if (index > at) tokens.push(['text', text.slice(at, index)]);
    const value = match[0];
    const first = value[0];
    if (first === '"') tokens.push([/^\s*:/.test(text.slice(index + value.length, index + value.length + 32)) ? 'key' : 'string', value]);
    else if (first === '-' || (first >= '0' && first <= '9')) tokens.push(['number', value]);
    else if (first === 't' || first === 'f' || first === 'n') tokens.push(['literal', value]);
    else tokens.push(['punct', value]);
    at = index + value.length;
  }
  if (at < text.length) tokens.push(['text', text.slice(at)]);
  return tokens;
}

const MARKUP_TOKEN = /<!--[\s\S]*?(?:-->|$)|<!\[CDATA\[[\s\S]*?(?:\]\]>|$)|<[!?/]?[A-Za-z_:][^\s<>/]*(?:[^<>"']|"[^"]*"?|'[^']*'?)*>?/g;
const ATTRIBUTE = /([^\s=/>]+)(\s*=\s*)?("[^"]*"?|'[^']*'?|[^\s>]+)?/g;

/** HTML and XML: tags with their attributes, comments, CDATA; text between them as text. */
export function markupTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  for (const match of text.matchAll(MARKUP_TOKEN)) {
    const index = match.index ?? 0;
    if (index > at) tokens.push(['text', text.slice(at, index)]);
    const value = match[0];
    if (value.startsWith('<!--') || value.startsWith('<![CDATA[')) tokens.push(['comment', value]);
    else tokens.push(...tagTokens(value));
    at = index + value.length;
  }
  if (at < text.length) tokens.push(['text', text.slice(at)]);
  return tokens;
}

function tagTokens(tag: string): Token[] {
  const name = /^<[!?/]?[^\s<>/]*/.exec(tag)?.[0] ?? '<';
  // Looked for after the name only: in `<a?>` the name's last character is not the end's too.
  const end = /\/?[?]?>$/.exec(tag.slice(name.length))?.[0] ?? '';
  const inner = tag.slice(name.length, tag.length - end.length);
  const tokens: Token[] = [['tag', name]];
  let at = 0;
  for (const match of inner.matchAll(ATTRIBUTE)) {
    const index = match.index ?? 0;
    if (index > at) tokens.push(['text', inner.slice(at, index)]);
    tokens.push(['attr', match[1]]);
    if (match[2]) tokens.push(['punct', match[2]]);
    if (match[3]) tokens.push(['string', match[3]]);
    at = index + match[0].length;
  }
  if (at < inner.length) tokens.push(['text', inner.slice(at)]);
  tokens.push(['tag', end]);
  return tokens;
}
