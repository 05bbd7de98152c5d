import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentError } from '../../extension/agent/relayConnection.js';
import { qrSvg, renderQrPage } from '../../extension/panel/qrPage.js';
import { describeAccess } from '../../extension/accessPresets.js';
import { initialStatus, nextStatus, shareRow, type ShareStatus } from '../../extension/statusModel.js';

const base = (access = describeAccess(undefined, undefined)): ShareStatus =>
  initialStatus({ label: ':5173', local: 'http://localhost:5173', relay: 'https://example.dev', relayEmbedded: false, access });

test('a share row: public host, local port, state, access preset and request count', () => {
  let status = base();
  assert.equal(shareRow(status), {
    label: ':5173',
    description: 'connecting · Public · 0 requests',
    icon: 'sync~spin',
    state: 'connecting',
  });
  status = nextStatus(status, { type: 'state', state: { status: 'live', url: 'https://myapp.example.dev', since: 1 } });
  status = nextStatus(status, { type: 'request' });
  assert.equal(shareRow(status), {
    label: 'myapp.example.dev',
    description: ':5173 · live · Public · 1 request',
    icon: 'radio-tower',
    state: 'live',
  });
  status = nextStatus(status, { type: 'state', state: { status: 'reconnecting', attempt: 1, retryAt: 2, reason: 'x' } });
  assert.is(shareRow(status).description, ':5173 · reconnecting · Public · 1 request');
  const live = { status: 'live', url: 'https://a.example.dev', since: 1 } as const;
  const locked = nextStatus(base(describeAccess('me:pw', undefined)), { type: 'state', state: live });
  assert.equal(shareRow(locked).icon, 'lock');
  assert.match(shareRow(locked).description, / · Password · /);
  const hook = nextStatus(base(describeAccess(undefined, { privateLink: true, openPaths: ['/webhooks/*'] })), {
    type: 'state',
    state: live,
  });
  assert.equal(shareRow(hook).icon, 'key');
  assert.is(shareRow(hook).description, ':5173 · live · Private link · 1 open path · 0 requests');
  const failed = nextStatus(base(), { type: 'state', state: { status: 'failed', error: new AgentError('token', 'wrong token') } });
  assert.is(shareRow(failed).description, 'failed: wrong token · Public · 0 requests');
});

test('the QR code is an SVG of paths only, shown as an image in a page that runs no script', async () => {
  const svg = await qrSvg('https://myapp.example.dev');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal([...new Set(svg.match(/<(\w+)/g))].sort(), ['<path', '<svg']);
  const page = renderQrPage({ url: 'https://x.example.dev/?a=<b>"', svg, nonce: 'N1', local: false });
  assert.match(page, /content="default-src 'none'; img-src data:; style-src 'nonce-N1'"/);
  assert.not.match(page, /<script/);
  assert.ok(page.includes(`src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"`));
  assert.ok(page.includes('https://x.example.dev/?a=&#60;b&#62;&#34;'), 'the URL is escaped');
  assert.match(renderQrPage({ url: 'http://a.localhost:8080', svg, nonce: 'n', local: true }), /this machine only/);
  assert.match(
    renderQrPage({ url: 'https://a.example.dev/?k=1', svg, nonce: 'n', local: false, privateLink: true }),
    /whoever scans it can open the share/,
  );
});

test.run();
