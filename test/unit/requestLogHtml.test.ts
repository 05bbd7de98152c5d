import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { contentSecurityPolicy, makeNonce, renderShell } from '../../extension/requestLog/html.js';
import fs from 'node:fs';
import path from 'node:path';
import { transformSync } from 'esbuild';

const CSP_SOURCE = 'https://*.vscode-cdn.net';

test('nonces are fresh, long and safe to put in an attribute', () => {
  const a = makeNonce();
  assert.match(a, /^[A-Za-z0-9]{20,}$/);
  assert.is.not(a, makeNonce());
});

test('the CSP allows only the nonce-tagged script and nothing from elsewhere', () => {
  const csp = contentSecurityPolicy(CSP_SOURCE, 'abc123');
  assert.ok(csp.startsWith("default-src 'none'"));
  assert.ok(csp.includes("script-src 'nonce-abc123'"));
  assert.not.ok(csp.includes('unsafe-inline'));
  assert.not.ok(csp.includes('unsafe-eval'));
  assert.not.ok(/connect-src|frame-src/.test(csp));
});

test('the shell carries the CSP, tags its only script and style with the nonce, and escapes its title', () => {
  const html = renderShell({ cspSource: CSP_SOURCE, nonce: 'N0nce', title: 'Requests <b>:5173</b>', scriptUri: 'x.js' });
  assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;`));
  assert.is(html.match(/<script\b/g)?.length, 1);
  assert.ok(html.includes('<script nonce="N0nce" src="x.js"></script>'));
  assert.ok(html.includes('<style nonce="N0nce">'));
  assert.ok(html.includes('<title>Requests &#60;b&#62;:5173&#60;/b&#62;</title>'));
  assert.not.ok(/\sstyle="/.test(html), 'no inline style attributes (the CSP would block them)');
  assert.not.ok(/\son[a-z]+="/.test(html), 'no inline event handlers');
});

test('the shell is accessible: labelled controls, a grid, live status', () => {
  const html = renderShell({ cspSource: CSP_SOURCE, nonce: 'n', title: 't', scriptUri: 'x.js' });
  for (const id of ['filter', 'status-filter', 'method-filter', 'type-filter'])
    assert.match(html, new RegExp(`id="${id}"[^>]*aria-label="[^"]+"`));
  for (const id of ['replay', 'edit', 'compare', 'copy-curl', 'export-har'])
    assert.match(html, new RegExp(`<button id="${id}" type="button"`));
  assert.match(html, /role="toolbar" aria-label="Actions on this request"/);
  assert.match(html, /aria-keyshortcuts="\/"/);
  assert.ok(html.includes('role="grid"'));
  assert.ok(html.includes('aria-live="polite"'));
  assert.ok(html.includes('var(--vscode-'), 'styled with theme colours');
});

test('the page loads its one script from the extension, tagged with the nonce', () => {
  const html = renderShell({
    cspSource: CSP_SOURCE,
    nonce: 'n',
    title: 't',
    scriptUri: 'https://file+.vscode-resource/x/dist/webview/requestLog.js?a="b"',
  });
  assert.ok(html.includes('<script nonce="n" src="https://file+.vscode-resource/x/dist/webview/requestLog.js?a=&#34;b&#34;"></script>'));
});

test('the page script writes request data only as text', () => {
  const folder = path.join(__dirname, '../../extension/requestLog/webview');
  const files = fs.readdirSync(folder).filter((name) => name.endsWith('.ts'));
  assert.ok(files.length >= 5, `the page script's modules: ${files.join(', ')}`);
  let all = '';
  for (const file of files) {
    // Its code as shipped, without the comments that name what it must not use.
    const { code: source } = transformSync(fs.readFileSync(path.join(folder, file), 'utf8'), { loader: 'ts' });
    for (const sink of [
      'innerHTML',
      'outerHTML',
      'insertAdjacentHTML',
      'document.write',
      'eval(',
      'new Function',
      'srcdoc',
      'setAttribute("on',
      'href',
    ]) {
      assert.not.ok(source.includes(sink), `${file} uses ${sink}`);
    }
    all += source;
  }
  assert.ok(all.includes('textContent') && all.includes('createTextNode'));
});

test('images are allowed only as data: URLs, and nothing else is loaded', () => {
  const csp = contentSecurityPolicy(CSP_SOURCE, 'n');
  assert.ok(csp.split('; ').includes('img-src data:'));
  assert.not.ok(/img-src[^;]*(https?:|\*|blob:)/.test(csp));
});

test.run();
