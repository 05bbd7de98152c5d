// The page-load benchmark's table: one row per way of reaching the dev server, the targets of issue 10
// beside them, and rows that could not be measured said as such, never filled in.

/** Targets: the best share at most this fraction of direct, this many times faster than HTTP/1.1 through Porthole. */
export const TARGET_VS_DIRECT = 0.7;
export const TARGET_VS_HTTP1 = 2;
/** HMR through the share may take one round trip plus this much longer than direct. */
export const HMR_MARGIN_MS = 50;

const int = (n) => Math.round(n).toLocaleString('en-US');
const ms = (n) => `${int(n)} ms`;
const kB = (n) => `${int(n / 1000)} kB`;
const check = (ok) => (ok ? '✅' : '❌');

export function table(rows, hmr, link) {
  const [direct] = rows;
  const best = rows.find((r) => r.key === 'h2c');
  const http1 = rows.find((r) => r.key === 'h1');
  const lines = [
    "| | load time (min–max) | × direct | bytes on the visitor's link ↓ / ↑ | requests | protocol, encoding | target | |",
    '|---|--:|--:|--:|--:|---|--:|---|',
  ];
  const add = (...cells) => lines.push(`| ${cells.join(' | ')} |`);
  for (const row of rows) {
    const target =
      row === best ? [`≤ ${TARGET_VS_DIRECT}× direct`, check(!row.unavailable && row.ms / direct.ms <= TARGET_VS_DIRECT)] : ['', ''];
    if (row.unavailable) {
      add(row.label, row.unavailable, '', '', '', row.protocols.join(', '), ...target);
      continue;
    }
    add(
      row.label,
      `${ms(row.ms)} (${int(row.spread[0])}–${int(row.spread[1])})`,
      `${(row.ms / direct.ms).toFixed(2)}×`,
      `${kB(row.down)} / ${kB(row.up)}`,
      int(row.requests),
      [...row.protocols, ...row.encodings].join(', '),
      ...target,
    );
  }
  if (best && http1) {
    const measured = !best.unavailable && !http1.unavailable;
    add(
      'Porthole, HTTP/2 + compression against HTTP/1.1',
      measured ? `${(http1.ms / best.ms).toFixed(2)}× faster` : 'not measured',
      '',
      '',
      '',
      '',
      `≥ ${TARGET_VS_HTTP1}× faster`,
      check(measured && http1.ms / best.ms >= TARGET_VS_HTTP1),
    );
  }
  const allowed = link.rttMs + HMR_MARGIN_MS;
  const hmrTarget = `≤ +${allowed} ms (one RTT + ${HMR_MARGIN_MS})`;
  if (hmr.error) {
    add(
      'HMR: file edit to update in the page, through the share',
      `failed: ${hmr.error.replaceAll('|', '/')}`,
      '',
      '',
      '',
      '',
      hmrTarget,
      check(false),
    );
  } else {
    add('HMR: file edit to update in the page, direct', ms(hmr.direct), '', '', '', '', '', '');
    add(
      'HMR: file edit to update in the page, through the share',
      ms(hmr.share),
      `+${ms(hmr.share - hmr.direct)}`,
      '',
      '',
      '',
      hmrTarget,
      check(hmr.share - hmr.direct <= allowed),
    );
  }
  return lines.join('\n');
}
