/**
 * The page's only ways of putting things on screen: elements with text content, and text with the
 * search matches marked. Request data never becomes markup.
 */

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

/** More marks than this in one text are not worth the nodes: the rest stays plain. */
const MAX_MARKS = 500;

/**
 * Appends `text` to `parent`, each case-insensitive occurrence of `needle` (already lower case)
 * wrapped in <mark>; returns how many it marked.
 */
export function appendMarked(parent: Node, text: string, needle: string, budget = MAX_MARKS): number {
  if (!needle || budget <= 0) {
    parent.appendChild(document.createTextNode(text));
    return 0;
  }
  const lower = text.toLowerCase();
  // toLowerCase can change a string's length (e.g. "İ"); marks are then skipped rather than misplaced.
  if (lower.length !== text.length) {
    parent.appendChild(document.createTextNode(text));
    return 0;
  }
  let at = 0;
  let marked = 0;
  for (let found = lower.indexOf(needle); found >= 0 && marked < budget; found = lower.indexOf(needle, found + needle.length)) {
    if (found > at) parent.appendChild(document.createTextNode(text.slice(at, found)));
    parent.appendChild(el('mark', text.slice(found, found + needle.length)));
    at = found + needle.length;
    marked++;
  }
  if (at < text.length) parent.appendChild(document.createTextNode(text.slice(at)));
  return marked;
}

/** An element holding `text` with its matches marked. */
export function marked<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text: string,
  needle: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = el(tag, undefined, className);
  appendMarked(node, text, needle);
  return node;
}
