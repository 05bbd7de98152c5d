/**
 * Certificates in a cluster, against pebble: three `node relay --redis --acme-email …` nodes share the
 * ACME account and certificates through Redis. The apex is ordered once for the cluster; a tunnel's
 * certificate ordered by one node is served by the others; and the CA's HTTP-01 check, which reaches a
 * node that did not order (the one on the harness's HTTP-01 port), is answered from Redis.
 */
import path from 'node:path';
import https from 'node:https';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, root, run, startOrigin, type Child, type Origin } from '../helpers';
import { type Node, type RedisServer, startNode, startRedis } from '../cluster/support';
import { acmeEnv, handshake, tempDir, waitFor, withTimeout } from './support.js';

const DOMAIN = 'tunnel.test';
const SHIM = { NODE_OPTIONS: `--require "${path.join(__dirname, 'resolve-test-names.cjs')}"` };
const ctx = {} as { redis: RedisServer; nodes: { node: Node; https: number }[]; origin: Origin; agent: Child };
const test = suite('certificates shared by a cluster', ctx);

async function acmeNode(httpPort?: number) {
  const httpsPort = await freePort();
  const args = ['--domain', DOMAIN, '--https-port', String(httpsPort), '--acme-directory', acmeEnv.directoryUrl()];
  args.push('--acme-email', `ops@${DOMAIN}`, '--data-dir', tempDir('cluster-tls'), '--acme-skip-self-check');
  const node = await startNode(ctx.redis, { port: httpPort, args, env: SHIM });
  return { node, https: httpsPort };
}

const orders = (node: Node, names: string) => node.log().filter((e) => e.event === 'acme.order' && e.names === names);

test.before(async () => {
  ctx.redis = await startRedis();
  ctx.origin = await startOrigin();
  // The node on the harness's HTTP-01 port (where pebble validates) starts first and orders the apex.
  ctx.nodes = [await acmeNode(acmeEnv.http01Port())];
  ctx.nodes.push(await acmeNode(), await acmeNode());
});

test.after(async () => {
  await ctx.agent?.stop();
  for (const { node } of ctx.nodes ?? []) await node.stop();
  await ctx.redis?.stop();
  await ctx.origin?.close();
});

test('the apex certificate is ordered once for the cluster, and every node serves it', async () => {
  const ca = acmeEnv.issuerRoot();
  assert.equal(
    ctx.nodes.map(({ node }) => orders(node, DOMAIN).length),
    [1, 0, 0],
  );
  const serials = new Set<string>();
  for (const { https: port } of ctx.nodes) {
    const hello = await handshake(port, DOMAIN, ca);
    assert.ok(hello.authorized, hello.authorizationError);
    serials.add(hello.serial);
  }
  assert.is(serials.size, 1);
});

test("a tunnel's certificate ordered by one node is served by the others; the CA's check was answered by a node that did not order", async () => {
  const ca = acmeEnv.issuerRoot();
  const [checker, orderer, other] = ctx.nodes;
  ctx.agent = run(
    [
      path.join(root, 'dist/cli.js'),
      'share',
      String(ctx.origin.port),
      '--relay',
      `https://${DOMAIN}:${orderer.https}`,
      '--subdomain',
      'secure',
      '--json',
    ],
    { ...SHIM, NODE_EXTRA_CA_CERTS: process.env.ACME_ISSUER_ROOT },
  );
  await waitFor(() => ctx.agent.events().some((e) => e.event === 'ready'), 15_000, `the agent (${ctx.agent.err})`);
  const name = `secure.${DOMAIN}`;
  const first = await handshake(orderer.https, name, ca, 20_000);
  assert.ok(first.authorized, first.authorizationError);
  assert.match(first.names, name);
  assert.is(orders(orderer.node, name).length, 1);
  assert.ok(orderer.node.log().some((e) => e.event === 'acme.issued' && e.names === name));
  // pebble validated on the HTTP-01 port: the checker node, which never ordered this name, answered it.
  assert.is(orders(checker.node, name).length, 0);
  for (const node of [checker, other]) {
    const served = await handshake(node.https, name, ca);
    assert.ok(served.authorized, served.authorizationError);
    assert.is(served.serial, first.serial);
    assert.is(orders(node.node, name).length, 0);
  }
  const page = await withTimeout(
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(
          { host: '127.0.0.1', port: other.https, servername: name, path: '/hello', headers: { host: name }, ca, agent: false },
          (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => {
              body += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        )
        .on('error', reject);
    }),
    10_000,
    'GET through another node over HTTPS',
  );
  assert.equal(page, { status: 200, body: 'hello from origin\n' });
});

test.run();

const renewal = suite('renewal in a cluster', {} as { redis: RedisServer; nodes: Node[] });

renewal.before(async (context) => {
  context.redis = await startRedis();
  context.nodes = [];
  for (const port of [acmeEnv.http01Port(), undefined, undefined]) {
    const args = [
      '--domain',
      'renew-cluster.test',
      '--https-port',
      String(await freePort()),
      '--acme-directory',
      acmeEnv.shortDirectoryUrl(),
    ];
    args.push('--acme-email', 'ops@renew-cluster.test', '--data-dir', tempDir('cluster-renew'), '--acme-skip-self-check');
    context.nodes.push(await startNode(context.redis, { port, args, env: SHIM }));
  }
});

renewal.after(async (context) => {
  for (const node of context.nodes ?? []) await node.stop();
  await context.redis?.stop();
});

renewal('short-lived certificates are renewed once per cluster, by whichever node is due first', async (context) => {
  const issued = () => context.nodes.flatMap((node) => node.log().filter((e) => e.event === 'acme.issued'));
  // Validity is a few seconds: wait for three renewals.
  await waitFor(() => issued().length >= 4, 30_000, 'three renewals');
  const done = issued();
  const orders = context.nodes.flatMap((node) => node.log().filter((e) => e.event === 'acme.order'));
  assert.is(new Set(done.map((e) => e.serial)).size, done.length, 'every certificate issued is a new one');
  // One order per certificate (one more may be under way right now), where three nodes each due would place three.
  assert.ok(orders.length <= done.length + 1, `${orders.length} orders for ${done.length} certificates`);
  // The others took each renewed certificate from Redis instead of ordering their own.
  assert.ok(context.nodes.some((node) => node.log().some((e) => e.event === 'tls.loaded' && e.from === 'another order')));
});

renewal.run();
