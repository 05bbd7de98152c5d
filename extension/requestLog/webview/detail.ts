/**
 * One request in detail: request and response side by side, each with its first line, headers and
 * body. A body has up to four views — Pretty (highlighted tokens, each a span holding text), Raw,
 * Hex and Image (a data: URL of a raster image, checked again here) — and the view chosen for a
 * side stays chosen while the selection moves.
 */
import type { BodyView } from '../body.js';
import type { LogDetail, MessageView } from '../format.js';
import { appendMarked, byId, el, marked } from './dom.js';

type Side = 'request' | 'response';
type ViewName = 'pretty' | 'raw' | 'hex' | 'image';
const VIEW_ORDER: ViewName[] = ['image', 'pretty', 'raw', 'hex'];
const IMAGE_URL = /^data:image\/(png|jpeg|gif|webp|avif|bmp|x-icon|vnd\.microsoft\.icon);base64,[A-Za-z0-9+/]*={0,2}$/;

/** What a header's other side was: the request as the local server got it, the response as the visitor got it. */
const HEADER_NOTES: Record<Side, (visitor: string | null, local: string | null) => string> = {
  request: (visitor, local) =>
    local === null ? 'not passed to the local server' : visitor === null ? 'added for the local server' : `local server got: ${local}`,
  response: (visitor, local) =>
    visitor === null ? 'not passed to the visitor' : local === null ? 'added for the visitor' : `local server sent: ${local}`,
};

export class DetailView {
  private detail: LogDetail | null = null;
  private needle = '';
  private readonly chosen: Record<Side, ViewName | undefined> = { request: undefined, response: undefined };

  constructor() {
    for (const button of document.querySelectorAll<HTMLButtonElement>('.views button')) {
      button.addEventListener('click', () => {
        const side = button.dataset.side as Side;
        this.chosen[side] = button.dataset.view as ViewName;
        if (this.detail) this.renderBody(side, this.detail[side].body);
      });
    }
  }

  get current(): LogDetail | null {
    return this.detail;
  }

  show(detail: LogDetail | null, needle: string): void {
    this.detail = detail;
    this.needle = needle;
    byId('detail').hidden = detail === null;
    if (!detail) return;
    byId('summary').replaceChildren(marked('span', detail.summary, needle));
    const facts = byId('facts');
    facts.replaceChildren();
    for (const [name, value] of detail.facts) facts.append(el('dt', name), el('dd', value));
    for (const side of ['request', 'response'] as const) this.renderSide(side, detail[side]);
  }

  private renderSide(side: Side, message: MessageView): void {
    byId(`${side}-line`).replaceChildren(marked('span', message.line, this.needle));
    const target = byId(`${side}-headers`);
    target.replaceChildren();
    if (message.headers.length === 0) target.appendChild(el('p', 'none', 'muted'));
    else {
      const table = el('table', undefined, 'headers');
      table.setAttribute('aria-label', `${side === 'request' ? 'Request' : 'Response'} headers`);
      for (const { name, visitor, local } of message.headers) {
        const tr = el('tr');
        const th = marked('th', name, this.needle);
        th.scope = 'row';
        const td = marked('td', visitor ?? local ?? '', this.needle);
        // Where the agent mapped a header (Host-rewrite mode), the other side's value beneath it.
        if (visitor !== local) td.appendChild(marked('div', HEADER_NOTES[side](visitor, local), this.needle, 'muted'));
        tr.append(th, td);
        table.appendChild(tr);
      }
      target.appendChild(table);
    }
    this.renderBody(side, message.body);
  }

  private renderBody(side: Side, body: BodyView): void {
    byId(`${side}-body-summary`).textContent = body.summary;
    const cut = byId(`${side}-body-cut`);
    cut.textContent = body.cut ?? '';
    cut.hidden = !body.cut;
    const available = VIEW_ORDER.filter(
      (view) => (view === 'pretty' ? body.pretty : view === 'image' ? body.image : body[view]) !== undefined,
    );
    const wanted = this.chosen[side];
    const view = wanted && available.includes(wanted) ? wanted : available[0];
    for (const button of document.querySelectorAll<HTMLButtonElement>(`.views button[data-side="${side}"]`)) {
      const name = button.dataset.view as ViewName;
      button.hidden = !available.includes(name);
      button.setAttribute('aria-pressed', String(name === view));
    }
    const target = byId(`${side}-body`);
    target.replaceChildren();
    target.className = `body ${view ?? ''}`;
    if (view === 'pretty' && body.pretty) {
      let budget = 500;
      for (const [kind, text] of body.pretty) {
        const span = el('span', undefined, `tok-${kind}`);
        budget -= appendMarked(span, text, this.needle, budget);
        target.appendChild(span);
      }
    } else if (view === 'raw' && body.raw !== undefined) {
      appendMarked(target, body.raw, this.needle);
    } else if (view === 'hex' && body.hex !== undefined) {
      target.textContent = body.hex;
    } else if (view === 'image' && body.image && IMAGE_URL.test(body.image)) {
      const img = el('img');
      img.alt = `${side === 'request' ? 'Request' : 'Response'} body: ${body.summary}`;
      img.src = body.image;
      target.appendChild(img);
    }
  }
}
