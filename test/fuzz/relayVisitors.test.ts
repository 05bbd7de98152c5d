/**
 * Random request heads, sent raw over TCP to a relay process with three tunnels: methods, targets,
 * Host values in every spelling (case, trailing dots, ports, nested labels, IDN and punycode,
 * Unicode, none, two). Every answer is well-formed HTTP, no request reaches a tunnel it did not name,
 * and a clean request reaches exactly what relay/routing.ts says it names.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import type { Agent } from '../../extension/agent/agent';
import { requestTarget, routeHost } from '../../relay/routing';
import { agent, freePort, rawRequest, startRelayProcess, type RelayProcess } from '../helpers';
import { anyText, runs, token } from './arbitraries';

const NAMES = ['alpha', 'beta', 'xn--bcher-kva'];
const ctx = {} as { relay: RelayProcess; port: number; origins: http.Server[]; agents: Agent[] };
const it = suite('random visitors against a relay process', ctx);
it.before(async () => {
  ctx.port = await freePort();
  ctx.relay = await startRelayProcess(['--http-port', String(ctx.port)]);
  ctx.origins = [];
  ctx.agents = [];
  for (const name of NAMES) {
    const origin = await taggedOrigin(name);
    ctx.origins.push(origin);
    ctx.agents.push(await agent(`http://localhost:${ctx.port}`, (origin.address() as AddressInfo).port, { subdomain: name }));
  }
});
it.after(async () => {
  for (const a of ctx.agents) await a.stop();
  await ctx.relay.stop('SIGKILL');
  for (const origin of ctx.origins) {
    origin.closeAllConnections();
    origin.close();
  }
});

/** A local server that says which tunnel it serves, in a header and in its body, whatever it is asked. */
async function taggedOrigin(name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'x-tunnel': name, 'content-type': 'text/plain' });
    res.end(`tunnel=${name}\n`);
  });
  server.on('upgrade', (_req, socket) =>
    socket.end(`HTTP/1.1 400 No Upgrades Here\r\nx-tunnel: ${name}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Visit {
  method: string;
  target: string;
  version: string;
  hosts: string[];
  headers: [string, string][];
  upgrade: boolean;
  body: string;
  encoding: BufferEncoding;
}

/** Host values in the spellings clients use (case, ports, trailing dots, nested labels), or any text at all. */
function hostValue(port: number, wild: boolean): fc.Arbitrary<string> {
  /** Mostly the usual choice, sometimes one of the odd ones. */
  const usually = (usual: string, odd: string[]) =>
    fc.oneof({ weight: 4, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.constantFrom(...odd) });
  const label = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NAMES) },
    { weight: 1, arbitrary: fc.constantFrom('gamma', 'www', '_porthole', 'alpha-', '', ...(wild ? ['bücher', 'BÜCHER'] : [])) },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,12}$/) },
  );
  const spelled = fc
    .tuple(
      usually('', ['x.', 'alpha.', 'a.b.', '.']),
      label,
      usually('.localhost', ['.localhost.', '.localhost..', '.localhostx', 'localhost', '.example.dev', '', '..localhost']),
      usually(`:${port}`, ['', ':', ':0', ':abc', ':99999', `:${port}:${port}`, `:${port}.`, ...(wild ? [' '] : [])]),
    )
    .map((parts) => parts.join(''));
  return wild ? fc.oneof({ weight: 4, arbitrary: fc.mixedCase(spelled) }, { weight: 1, arbitrary: anyText }) : fc.mixedCase(spelled);
}

/** A request: a plain one (its route is predictable), or one with anything in any part. */
function visit(port: number): fc.Arbitrary<Visit> {
  const plainHost = hostValue(port, false);
  const wildHost = hostValue(port, true);
  const plainTarget = fc.oneof(
    fc.constantFrom('/', '/a?b=1', '//x', '/%00', '/_porthole/health', '/_porthole/connect', '*'),
    fc.stringMatching(/^\/[!-~]{0,30}$/),
    fc.tuple(fc.constantFrom('http://', 'HTTP://'), plainHost).map(([scheme, h]) => `${scheme}${h}/x`),
  );
  const plainHeader = fc.tuple(fc.stringMatching(/^x-[a-z0-9-]{1,10}$/), fc.stringMatching(/^[ -~]{0,20}$/));
  const plain = fc.record({
    method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE'),
    target: plainTarget,
    version: fc.constant('HTTP/1.1'),
    hosts: fc.oneof({ weight: 8, arbitrary: plainHost.map((h) => [h]) }, { weight: 1, arbitrary: fc.array(plainHost, { maxLength: 3 }) }),
    headers: fc.array(plainHeader, { maxLength: 3 }),
    upgrade: fc.constant(false),
    body: fc.stringMatching(/^[a-z]{0,20}$/),
    encoding: fc.constant<BufferEncoding>('latin1'),
  });
  const wild = fc.record({
    method: fc.oneof(fc.constantFrom('GET', 'HEAD', 'CONNECT', 'get', 'PROPFIND', 'BREW'), token, anyText),
    target: fc.oneof(
      plainTarget,
      fc.tuple(fc.constantFrom('http://', 'https://', 'ftp://'), wildHost).map(([scheme, h]) => `${scheme}${h}/x`),
      anyText,
    ),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', ''),
    hosts: fc.array(wildHost, { maxLength: 3 }),
    headers: fc.array(fc.tuple(token, anyText), { maxLength: 3 }),
    upgrade: fc.boolean(),
    body: fc.string({ maxLength: 50 }),
    encoding: fc.constantFrom<BufferEncoding>('latin1', 'utf8'),
  });
  return fc.oneof({ weight: 3, arbitrary: plain }, { weight: 2, arbitrary: wild });
}

function serialize(v: Visit): Buffer {
  const lines = [`${v.method} ${v.target} ${v.version}`, ...v.hosts.map((h) => `Host: ${h}`)];
  for (const [name, value] of v.headers) lines.push(`${name}: ${value}`);
  if (v.upgrade) lines.push('Upgrade: websocket', 'Connection: Upgrade');
  else lines.push('Connection: close');
  if (v.body) lines.push(`Content-Length: ${Buffer.byteLength(v.body, v.encoding)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${v.body}`, v.encoding);
}

interface Answer {
  status: number;
  headers: [string, string][];
}

/** The responses in `bytes`, or why they are not well-formed HTTP/1.1. */
function parseAnswers(bytes: Buffer, method: string): Answer[] | string {
  const answers: Answer[] = [];
  let rest = bytes;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) return `a head without its end: ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`;
    const [statusLine, ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3}) [\t\x20-\x7e\x80-\xff]*$/.exec(statusLine);
    if (!status) return `a bad status line: ${JSON.stringify(statusLine)}`;
    const headers: [string, string][] = [];
    for (const line of lines) {
      const field = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+): ?([\t\x20-\x7e\x80-\xff]*)$/.exec(line);
      if (!field) return `a bad header line: ${JSON.stringify(line)}`;
      headers.push([field[1].toLowerCase(), field[2]]);
    }
    rest = rest.subarray(end + 4);
    const code = Number(status[1]);
    const get = (name: string) => headers.find(([n]) => n === name)?.[1];
    answers.push({ status: code, headers });
    if (code === 101) return answers;
    if (code < 200) continue;
    if (method === 'HEAD' || code === 204 || code === 304) continue;
    const length = get('content-length');
    if (get('transfer-encoding') === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = lineEnd === -1 ? Number.NaN : Number.parseInt(rest.subarray(0, lineEnd).toString(), 16);
        if (!Number.isInteger(size) || rest.length < lineEnd + 2 + size + 2) return 'a chunked body cut short';
        rest = rest.subarray(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
    } else if (length !== undefined) {
      if (!/^\d+$/.test(length) || rest.length < Number(length)) return `a body shorter than its Content-Length ${length}`;
      rest = rest.subarray(Number(length));
    } else {
      return answers; // the body runs to the end of the connection
    }
  }
  return answers.length > 0 ? answers : 'no answer at all';
}

/** Text the request line and Host carry unchanged through any parser: no controls, no separators, latin1. */
const clean = (text: string) => /^[\x21-\x7e]*$/.test(text);

it('every answer is well-formed HTTP, and each request reaches the tunnel it named or none', async () => {
  const counts = { tunnel: 0, refused: 0, modelled: 0 };
  await fc.assert(
    fc.asyncProperty(visit(ctx.port), async (v) => {
      const answers = parseAnswers(await rawRequest(ctx.port, serialize(v)), v.method);
      if (typeof answers === 'string') throw new Error(`not well-formed HTTP: ${answers}`);
      assert.is(ctx.relay.process.exitCode, null, 'the relay lives');
      const served = answers.flatMap((a) => a.headers.filter(([n]) => n === 'x-tunnel').map(([, value]) => value));
      const framed = [v.method, v.target, ...v.hosts, ...v.headers.flat()].every((t) => !/[\r\n]/.test(t));
      if (!framed) return true; // a CR or LF in a field makes its own framing: only well-formedness is asked then
      // A field's value is what lies between optional whitespace (RFC 9110 §5.5), as Node hands it over.
      const target = requestTarget(
        v.target,
        v.hosts.map((h) => h.replace(/^[ \t]+|[ \t]+$/g, '')),
      );
      const named = target.ok ? target.host : undefined;
      for (const tunnel of served) {
        counts.tunnel++;
        assert.ok(target.ok, `${tunnel} answered a request that named ${v.hosts.length} hosts`);
        assert.match(named ?? '', new RegExp(`^${tunnel.replace(/-/g, '\\-')}\\.localhost\\.?(:\\d*)?$`, 'i'), `${tunnel} answered`);
      }
      // A clean request: relay/routing.ts says where it goes, and that is where it went.
      const isClean =
        v.version === 'HTTP/1.1' &&
        /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|TRACE)$/.test(v.method) &&
        [v.target, ...v.hosts].every(clean) &&
        v.headers.every(
          ([n, value]) =>
            /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n) &&
            /^[\x20-\x7e]*$/.test(value) &&
            !/^(host|content-length|transfer-encoding|connection|upgrade|expect)$/i.test(n),
        ) &&
        !v.upgrade;
      if (!isClean) return true;
      counts.modelled++;
      const [answer] = answers;
      // HTTP/1.1 needs exactly one Host (Node refuses none, the relay two), whatever the target says.
      if (v.hosts.length !== 1 || !target.ok) return assert.is(answer.status, 400, `${v.hosts.length} Host headers`);
      const route = routeHost(target.host, 'localhost');
      if (route.kind === 'tunnel' && NAMES.includes(route.name)) {
        // `*` has no origin form: the agent cannot send it to a local server, and says so.
        assert.is(answer.status, target.path === '*' ? 502 : 200, `${route.name} serves ${v.target}`);
        assert.equal(served, target.path === '*' ? [] : [route.name]);
      } else {
        counts.refused++;
        assert.equal(served, [], 'no tunnel serves a request that named none');
        if (route.kind !== 'apex') assert.is(answer.status, 404, 'no such tunnel');
      }
      return true;
    }),
    runs(500),
  );
  const enough = (n: number) => Math.round(n * Number(process.env.PORTHOLE_FUZZ_SCALE ?? 1));
  assert.ok(counts.tunnel > enough(60) && counts.refused > enough(40) && counts.modelled > enough(200), JSON.stringify(counts));
});

it.run();
