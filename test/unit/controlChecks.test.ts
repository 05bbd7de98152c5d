import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkHello, checkRefusal, checkReset, checkWelcome } from '../../core/controlChecks';
import type { Hello, Refusal, Reset, Welcome } from '../../core/protocol';

const hello: Hello = { protocol: 2, agent: '0.1.0', token: 't0k3n', subdomain: 'myapp', resume: 'secret-secret-secret', basicAuth: 'u:p' };
const welcome: Welcome = { url: 'https://myapp.example.dev', subdomain: 'myapp', resume: 'secret', heartbeat: 15, maxFrame: 65536 };

test('HELLO: every field of the type it claims, access rules included', () => {
  assert.equal(checkHello(hello), hello);
  const access = { linkKey: 'k'.repeat(20), allowIps: ['10.0.0.0/8'], openPaths: ['/api/*'] };
  assert.equal(checkHello({ ...hello, access }), { ...hello, access });
  assert.throws(() => checkHello({ ...hello, subdomain: 7 as unknown as string }), /HELLO needs a protocol number/);
  assert.throws(() => checkHello({ ...hello, protocol: '2' as unknown as number }), /HELLO needs a protocol number/);
  assert.throws(() => checkHello({ ...hello, access: { allowIps: [1 as unknown as string] } }), /HELLO access needs/);
  assert.throws(() => checkHello({ ...hello, access: [] as unknown as Hello['access'] }), /HELLO access needs/);
});

test('WELCOME: a web URL, a heartbeat timers can wait for, a frame size within the limits', () => {
  assert.equal(checkWelcome(welcome), welcome);
  assert.throws(() => checkWelcome({ ...welcome, url: 'javascript:alert(1)' }), /http:\/\/ or https:\/\/ URL/);
  assert.throws(() => checkWelcome({ ...welcome, heartbeat: 0 }), /heartbeat of 0.1 to 86400 seconds/);
  assert.throws(() => checkWelcome({ ...welcome, heartbeat: Number.NaN }), /heartbeat/);
  assert.throws(() => checkWelcome({ ...welcome, maxFrame: 1024 }), /frame size must be a whole number from 16384 to 262144/);
  assert.throws(() => checkWelcome({ ...welcome, link: 'file:///etc/passwd' }), /private link must be an http/);
  const access = { password: true, privateLink: false, allowIps: 2, openPaths: 0 };
  assert.equal(checkWelcome({ ...welcome, access }), { ...welcome, access });
  assert.throws(() => checkWelcome({ ...welcome, access: { ...access, allowIps: -1 } }), /access summary needs/);
});

test('REFUSE and RESET: a known code and a message, cut to what a page shows', () => {
  const refusal: Refusal = { code: 'taken', message: 'The subdomain "myapp" is already taken.' };
  assert.equal(checkRefusal(refusal), refusal);
  assert.is(checkRefusal({ code: 'token', message: 'x'.repeat(5000) }).message.length, 1000);
  assert.throws(() => checkRefusal({ code: 'nope' as Refusal['code'], message: 'x' }), /REFUSE needs a known code/);
  const reset: Reset = { code: 'unreachable', message: 'Nothing is listening on localhost:5173' };
  assert.equal(checkReset(reset, 1), reset);
  assert.throws(() => checkReset({ code: 'nope' as Reset['code'], message: 'x' }, 3), /RESET on stream 3 needs a known code/);
  assert.throws(() => checkReset({ code: 'internal', message: 42 as unknown as string }, 3), /needs a known code and a message/);
});

test.run();
