/**
 * The one place Porthole speaks undici's Dispatcher handler API: the relay's hop between cluster
 * nodes (relay/cluster/forwarder.ts) and the agent's requests to the local server stream bodies
 * through it with back-pressure. undici 7 accepts two handler styles; this uses the controller
 * style (onRequestStart, onResponseStart…), the only one undici 8 keeps. It relies on three things,
 * and test/unit/undiciDispatch.test.ts fails if a release changes any of them (undici is pinned to
 * the minor version that test passed on):
 *
 * - the controller carries the response's raw header list (`rawHeaders`, names as the server wrote
 *   them, repeats kept) when the head arrives: the parsed object undici hands over loses both;
 * - `pause()` during the head or a chunk holds the body until `resume()`;
 * - a request that fails before it has a connection, or that undici refuses, ends in onResponseError.
 */
import type { Dispatcher } from 'undici';

/** What a caller hears of one request. `head` and `data` return false to hold the body until `resume` is called. */
export interface ResponseSink {
  /** The request has a connection (again, when undici retries it on another); `abort` ends it. */
  started?(abort: (reason: Error) => void): void;
  /** The final response head (1xx informational ones are skipped): header names and values as sent, latin1. */
  head(status: number, statusText: string, rawHeaders: string[], resume: () => void): boolean;
  data(chunk: Buffer): boolean;
  end(): void;
  /** The request failed, before its head or during its body. */
  error(error: Error): void;
}

/** Sends `request` through `dispatcher` (a Pool), telling `sink` what happens. */
export function dispatch(dispatcher: Dispatcher, request: Dispatcher.DispatchOptions, sink: ResponseSink): void {
  dispatcher.dispatch(request, {
    onRequestStart(controller) {
      sink.started?.((reason) => controller.abort(reason));
    },
    onResponseStart(controller, status, _parsed, statusText) {
      if (status < 200) return;
      if (!sink.head(status, statusText ?? '', rawHeaderList(controller.rawHeaders), () => controller.resume())) controller.pause();
    },
    onResponseData(controller, chunk) {
      if (!sink.data(chunk)) controller.pause();
    },
    onResponseEnd() {
      sink.end();
    },
    onResponseError(_controller, error) {
      sink.error(error);
    },
  });
}

/** The head's fields as a flat name, value list; undici keeps them as Buffers (latin1 bytes), or strings. */
function rawHeaderList(raw: Dispatcher.DispatchController['rawHeaders']): string[] {
  if (!Array.isArray(raw)) throw new Error("undici gave no raw header list: core/undiciDispatch.ts's assumptions no longer hold");
  return raw.map((field) => (typeof field === 'string' ? field : field.toString('latin1')));
}
