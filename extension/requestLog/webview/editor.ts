/**
 * The Edit and Replay form: method, path, headers (one `Name: value` a line) and the body in a text
 * area, pre-filled from the selected request. A body that is not plain text cannot be edited and
 * is sent as it was. The extension checks everything again before sending.
 */
import type { LogDetail } from '../format.js';
import type { ReplayEdits } from '../replayEdits.js';
import { byId } from './dom.js';

export class Editor {
  private readonly form = byId<HTMLFormElement>('editor');
  private readonly method = byId<HTMLInputElement>('edit-method');
  private readonly path = byId<HTMLInputElement>('edit-path');
  private readonly headers = byId<HTMLTextAreaElement>('edit-headers');
  private readonly body = byId<HTMLTextAreaElement>('edit-body');
  private readonly bodyNote = byId('edit-body-note');
  private seq: number | undefined;

  constructor(send: (seq: number, edits: ReplayEdits) => void) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (this.seq === undefined) return;
      send(this.seq, {
        method: this.method.value,
        path: this.path.value,
        headers: this.headers.value,
        body: this.body.disabled ? undefined : this.body.value,
      });
      this.close();
    });
    byId('edit-cancel').addEventListener('click', () => this.close());
    this.form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.close();
      } else if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
  }

  get isOpen(): boolean {
    return !this.form.hidden;
  }

  open(detail: LogDetail): void {
    const { edit } = detail;
    this.seq = detail.seq;
    this.method.value = edit.method;
    this.path.value = edit.path;
    this.headers.value = edit.headers;
    this.body.disabled = edit.body === undefined;
    this.body.value = edit.body ?? '';
    this.bodyNote.textContent = edit.bodyNote ?? '';
    this.bodyNote.hidden = !edit.bodyNote;
    this.form.hidden = false;
    this.method.focus();
  }

  close(): void {
    const wasOpen = this.isOpen;
    this.form.hidden = true;
    this.seq = undefined;
    if (wasOpen) byId('edit').focus();
  }
}
