import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../relay/config';
import { ConfigError } from '../../relay/startupError';
import { defaultMaxConnections } from '../../relay/connectionLimits';

test('no flags: the embedded default is a local relay on 127.0.0.1:8080 for *.localhost', () => {
  const config = parseConfig([], {});
  assert.ok(config);
  assert.is(config?.host, '127.0.0.1');
  assert.is(config?.httpPort, 8080);
  assert.is(config?.domain, 'localhost');
  assert.equal(config?.tokens, []);
  assert.is(config?.tls, undefined);
});

test('flags win over PORTHOLE_* variables, which win over defaults', () => {
  const config = parseConfig(['--domain', 'Example.DEV.', '--http-port', '9000', '--token', 'a', '--token', 'b'], {
    PORTHOLE_DOMAIN: 'other.dev',
    PORTHOLE_GRACE: '5',
    PORTHOLE_HOST: '::1',
  });
  assert.is(config?.domain, 'example.dev');
  assert.is(config?.httpPort, 9000);
  assert.equal(config?.tokens, ['a', 'b']);
  assert.is(config?.gracePeriodMs, 5000);
  assert.is(config?.host, '::1');
});

test('beyond loopback the relay refuses to start without a token, and says how to give one', () => {
  assert.throws(
    () => parseConfig(['--host', '0.0.0.0'], {}),
    (e: Error) => e instanceof ConfigError && /--token/.test(e.message) && /openssl rand/.test(e.message),
  );
  assert.ok(parseConfig(['--host', '0.0.0.0'], { PORTHOLE_TOKENS: 'abc,def' }));
});

test('tokens come from a file too, comments and blank lines ignored', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-')), 'tokens');
  fs.writeFileSync(file, '# agents\nalpha\n\n beta  # laptop\n');
  assert.equal(parseConfig(['--tokens-file', file], {})?.tokens, ['alpha', 'beta']);
  assert.throws(() => parseConfig(['--tokens-file', `${file}.missing`], {}), /Cannot read the tokens file/);
});

test('TLS flags: ACME or files, not both; ports default to 80/443', () => {
  const acme = parseConfig(['--domain', 'example.dev', '--acme-email', 'ops@example.dev', '--token', 't'], {});
  assert.is(acme?.httpPort, 80);
  assert.is(acme?.tls?.httpsPort, 443);
  assert.is(acme?.tls?.kind, 'acme');
  assert.throws(() => parseConfig(['--tls-cert', 'c.pem'], {}), /go together/);
  assert.throws(() => parseConfig(['--acme-email', 'a@b.c', '--tls-cert', 'c', '--tls-key', 'k'], {}), /Choose one/);
});

test('bad values get a message naming the flag', () => {
  assert.throws(() => parseConfig(['--http-port', 'eighty'], {}), /--http-port must be a whole number/);
  assert.throws(() => parseConfig(['--log-format', 'xml'], {}), /--log-format must be text or json/);
  assert.throws(() => parseConfig(['--bogus'], {}), /Unknown option '--bogus'/);
  assert.is(parseConfig(['--help'], {}), undefined);
});

test('connection limits: defaults, flags and PORTHOLE_* variables, and their bounds', () => {
  const defaults = parseConfig([], {});
  assert.is(defaults?.maxConnectionsPerAddress, 256);
  assert.is(defaults?.ipv6Prefix, 64);
  assert.is(defaults?.headTimeoutMs, 10_000);
  assert.is(defaults?.keepAliveTimeoutMs, 30_000);
  assert.is(defaults?.maxConnections, defaultMaxConnections());
  const set = parseConfig(['--max-connections-per-ip', '0', '--ipv6-prefix', '56', '--head-timeout', '5'], {
    PORTHOLE_MAX_CONNECTIONS: '5000',
    PORTHOLE_MAX_CONNECTIONS_PER_IP: '9',
    PORTHOLE_KEEP_ALIVE_TIMEOUT: '75',
  });
  assert.is(set?.maxConnectionsPerAddress, 0, 'the flag wins; 0 turns the limit off');
  assert.is(set?.ipv6Prefix, 56);
  assert.is(set?.headTimeoutMs, 5000);
  assert.is(set?.keepAliveTimeoutMs, 75_000);
  assert.is(set?.maxConnections, 5000);
  assert.throws(() => parseConfig(['--ipv6-prefix', '129'], {}), /--ipv6-prefix is a number of bits, at most 128/);
  assert.throws(() => parseConfig(['--head-timeout', '0'], {}), /--head-timeout must be a whole number of at least 1/);
  assert.throws(() => parseConfig(['--head-timeout', '301'], {}), /at most 300 seconds/);
  assert.throws(() => parseConfig(['--max-connections', '8'], {}), /--max-connections must be a whole number of at least 16/);
});

test('HTTP/2 is on by default; --no-http2 or PORTHOLE_NO_HTTP2=1 turns it off', () => {
  assert.is(parseConfig([], {})?.http2, true);
  assert.is(parseConfig(['--no-http2'], {})?.http2, false);
  assert.is(parseConfig([], { PORTHOLE_NO_HTTP2: '1' })?.http2, false);
  assert.is(parseConfig([], { PORTHOLE_NO_HTTP2: '' })?.http2, true);
});

test('--public-url states the port people use; scheme and host must agree with TLS and --domain', () => {
  assert.is(parseConfig([], {})?.publicPort, undefined);
  assert.is(parseConfig(['--domain', 'example.dev', '--public-url', 'http://example.dev:8000'], {})?.publicPort, 8000);
  assert.is(parseConfig(['--domain', 'example.dev', '--public-url', 'http://Example.dev/'], {})?.publicPort, 80);
  const tls = ['--domain', 'example.dev', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'];
  assert.is(parseConfig([...tls], { PORTHOLE_PUBLIC_URL: 'https://example.dev' })?.publicPort, 443);
  assert.is(parseConfig([...tls, '--public-url', 'https://example.dev:8443'], {})?.publicPort, 8443);
  const refused: [string[], RegExp][] = [
    [['--public-url', 'example.dev:8000'], /must start with http:\/\/ on a relay without TLS/],
    [['--public-url', 'not a url'], /must be a URL like http:\/\/localhost:8443/],
    [[...tls, '--public-url', 'http://example.dev:8000'], /must start with https:\/\/ on a relay with TLS/],
    [
      ['--domain', 'example.dev', '--public-url', 'http://other.dev:8000'],
      /must name the relay's --domain \(example\.dev\), not other\.dev/,
    ],
    [['--domain', 'example.dev', '--public-url', 'http://example.dev:8000/relay'], /scheme, host and port only/],
  ];
  for (const [argv, message] of refused) {
    assert.throws(
      () => parseConfig(argv, {}),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      argv.join(' '),
    );
  }
});

test('--redis makes a cluster node: it needs --cluster-secret, and an address the others can reach', () => {
  const secret = 'a-cluster-secret-of-32-characters';
  const node = parseConfig(['--redis', 'redis://10.0.0.5:6379/2', '--cluster-secret', secret], {});
  assert.equal(node?.cluster, { redisUrl: 'redis://10.0.0.5:6379/2', secret });
  const fromEnv = parseConfig(['--token', 't', '--host', '0.0.0.0'], {
    PORTHOLE_REDIS: 'rediss://:pw@redis.internal:6380',
    PORTHOLE_CLUSTER_SECRET: secret,
    PORTHOLE_ADVERTISE: 'http://10.0.0.7:8080',
  });
  assert.equal(fromEnv?.cluster, { redisUrl: 'rediss://:pw@redis.internal:6380', secret, advertise: 'http://10.0.0.7:8080' });
  assert.is(parseConfig([], {})?.cluster, undefined);
  const refused: [string[], RegExp][] = [
    [['--redis', 'redis://h:1'], /needs --cluster-secret .*openssl rand -hex 24/],
    [['--redis', 'redis://h:1', '--cluster-secret', 'short'], /at least 16 characters/],
    [['--redis', 'localhost:6379', '--cluster-secret', secret], /must be a Redis URL/],
    [['--cluster-secret', secret], /only mean something with --redis/],
    [['--redis', 'redis://h:1', '--cluster-secret', secret, '--host', '0.0.0.0', '--token', 't'], /give --advertise/],
    [['--redis', 'redis://h:1', '--cluster-secret', secret, '--advertise', 'https://x/y'], /--advertise must be http:\/\/HOST:PORT/],
  ];
  for (const [argv, message] of refused) {
    assert.throws(
      () => parseConfig(argv, {}),
      (e: Error) => e instanceof ConfigError && message.test(e.message),
      argv.join(' '),
    );
  }
});

test.run();
