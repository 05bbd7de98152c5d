import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTarget, type Target } from '../../extension/agent/target.js';

const ok = (input: string) => {
  const t = parseTarget(input);
  assert.not.ok('error' in t, `${input}: ${'error' in t ? t.error : ''}`);
  return t as Target;
};
const error = (input: string) => {
  const t = parseTarget(input);
  assert.ok('error' in t, `${input} should be refused`);
  return (t as { error: string }).error;
};

test('a port, host:port, or URL', () => {
  assert.equal(ok('5173'), {
    input: '5173',
    origin: 'http://localhost:5173',
    url: 'http://localhost:5173',
    label: ':5173',
    key: 'http://localhost:5173',
    path: '',
  });
  assert.equal(ok('http://127.0.0.1:5173/some/page').origin, 'http://127.0.0.1:5173', 'the agent connects where the person said');
  assert.equal(ok('http://127.0.0.1:5173/some/page?tab=2#top').path, '/some/page?tab=2#top', 'and the page it named is kept');
  assert.equal(ok('http://127.0.0.1:5173/').path, '', 'the root is no page of its own');
  assert.equal(ok('http://localhost:5173/app').key, ok('5173').key, 'one server, one share, whatever page was typed');
  assert.equal(ok(' localhost:3000 ').label, ':3000');
  assert.equal(ok('http://127.0.0.1:5173').key, 'http://localhost:5173');
  assert.equal(ok('http://127.0.0.1:5173').input, 'http://127.0.0.1:5173', 'the agent gets what was typed');
  assert.equal(ok('[::1]:8000').key, 'http://localhost:8000');
  assert.equal(ok('https://localhost:8443'), {
    input: 'https://localhost:8443',
    origin: 'https://localhost:8443',
    url: 'https://localhost:8443',
    label: 'https :8443',
    key: 'https://localhost:8443',
    path: '',
  });
  assert.equal(ok('https://localhost').key, 'https://localhost:443');
  assert.equal(ok('devbox.lan:8080').label, 'devbox.lan:8080');
});

test('nonsense is refused with what to type instead', () => {
  assert.match(error(''), /Type a port/);
  assert.match(error('hello'), /not a port or URL/);
  assert.match(error('70000'), /not a valid address|out of range/);
  assert.match(error('0'), /out of range/);
  assert.match(error('ftp://x:21'), /not a port or URL/);
});

test.run();
