#!/usr/bin/env node
/**
 * A real ACME server on loopback for the TLS tests: Debian's pebble, with pebble-challtestsrv as its DNS.
 *
 *   node test/pebble.mjs <command> [args...]     e.g. node test/pebble.mjs npx uvu -r tsx test/tls
 *
 * Installs the `pebble` package with apt when it is missing, makes a throwaway CA and a localhost certificate
 * for pebble's own HTTPS API, starts challtestsrv (every name resolves to 127.0.0.1, TXT records settable) and
 * two pebbles: a normal one and one issuing short-lived certificates for renewal tests (pebble's validity is
 * per server). Runs the command with the variables below, stops everything it started by PID, and prints the
 * tail of pebble's logs when the command fails. `startPebble()` does the same for scripts that import it.
 *
 * Exported to the command:
 *   ACME_DIR, ACME_ISSUER_ROOT               directory URL; root that pebble's issued certificates chain to
 *   ACME_SHORT_DIR, ACME_SHORT_ISSUER_ROOT   the same for the short-lived pebble (ACME_SHORT_VALIDITY_S)
 *   NODE_EXTRA_CA_CERTS                      trust for pebble's API (the ACME client side needs it)
 *   CHALLTESTSRV                             challtestsrv management URL (/set-txt, /clear-txt)
 *   ACME_DNS                                 challtestsrv's DNS server (host:port), to check TXT records
 *   HTTP01_PORT                              where pebble sends HTTP-01 validations (serve it on 127.0.0.1)
 *   ACME_SKIP_SELFCHECK=1, ACME_BACKOFF_MIN_MS=100, PEBBLE_LOG_DIR
 * Every port is free by default and overridable: ACME_PORT ACME_MGMT_PORT ACME_SHORT_PORT ACME_SHORT_MGMT_PORT
 * HTTP01_PORT TLSALPN_PORT DNS_PORT CTS_MGMT_PORT; lifetimes: CERT_VALIDITY_S (3600), SHORT_CERT_VALIDITY_S (6).
 */
import { spawn, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureDebianPackages } from './debian.cjs';

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 3_000;
const LOG_TAIL_LINES = 30;

/** Pebble's HTTPS API needs a certificate; the Debian package ships none. */
function makeApiCertificate(dir) {
  const f = (name) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync(
    'openssl',
    ['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=porthole test pebble API CA', '-keyout', f('ca.key'), '-out', f('ca.pem')],
    { stdio: 'pipe' },
  );
  execFileSync('openssl', ['req', ...ec, '-subj', '/CN=localhost', '-keyout', f('key.pem'), '-out', f('api.csr')], { stdio: 'pipe' });
  fs.writeFileSync(f('api.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      f('api.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f('api.ext'),
      '-out',
      f('cert.pem'),
    ],
    { stdio: 'pipe' },
  );
}

/** Ports free on TCP and UDP (DNS uses both), all held open at once so no two picks collide. */
async function freePorts(count) {
  const held = [];
  const ports = [];
  while (ports.length < count) {
    const server = net.createServer();
    await new Promise((res, rej) => server.once('error', rej).listen(0, '127.0.0.1', res));
    held.push(server);
    const port = server.address().port;
    const udp = dgram.createSocket('udp4');
    const udpFree = await new Promise((res) => {
      udp.once('error', () => res(false));
      udp.bind(port, '127.0.0.1', () => res(true));
    });
    held.push(udp);
    if (udpFree) ports.push(port);
  }
  await Promise.all(held.map((h) => new Promise((res) => h.close(() => res()))));
  return ports;
}

function get(url, ca) {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { ca, timeout: 2000, agent: false }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (d) => {
          body += d;
        })
        .on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout fetching ${url}`))).on('error', reject);
  });
}

function tail(file, lines = LOG_TAIL_LINES) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts challtestsrv and both pebbles. Resolves to the variables for the tests, the log files, and stop(),
 * which kills exactly the processes started here and removes the working directory.
 */
export async function startPebble(env = process.env) {
  ensureDebianPackages(['pebble'], { pebble: 'pebble-challtestsrv' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-pebble-'));
  const names = [
    'ACME_PORT',
    'ACME_MGMT_PORT',
    'ACME_SHORT_PORT',
    'ACME_SHORT_MGMT_PORT',
    'HTTP01_PORT',
    'TLSALPN_PORT',
    'DNS_PORT',
    'CTS_MGMT_PORT',
  ];
  const picked = await freePorts(names.filter((n) => !env[n]).length);
  const port = Object.fromEntries(names.map((n) => [n, Number(env[n] || picked.shift())]));
  const children = [];
  const logs = {};
  const stop = async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            const force = setTimeout(() => c.kill('SIGKILL'), STOP_TIMEOUT_MS);
            c.once('exit', () => {
              clearTimeout(force);
              res();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const launch = (name, cmd, args, extraEnv = {}) => {
    logs[name] = path.join(dir, `${name}.log`);
    const out = fs.openSync(logs[name], 'w');
    const child = spawn(cmd, args, { stdio: ['ignore', out, out], env: { ...env, ...extraEnv } });
    fs.closeSync(out);
    children.push(child);
    return child;
  };
  const waitReady = async (name, child, probe) => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited at start-up (exit ${child.exitCode}):\n${tail(logs[name])}`);
      try {
        await probe();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${name} not ready after ${READY_TIMEOUT_MS} ms (${err.message}):\n${tail(logs[name])}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    makeApiCertificate(dir);
    const apiCa = fs.readFileSync(path.join(dir, 'ca.pem'));
    // Only the DNS and management listeners: challtestsrv's default HTTP/TLS listeners bind 5001-5003 on all interfaces.
    const cts = launch('challtestsrv', 'pebble-challtestsrv', [
      '-dns01',
      `127.0.0.1:${port.DNS_PORT}`,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-management',
      `127.0.0.1:${port.CTS_MGMT_PORT}`,
      '-defaultIPv4',
      '127.0.0.1',
      '-defaultIPv6',
      '',
    ]);
    const pebbles = [
      { name: 'pebble', api: port.ACME_PORT, mgmt: port.ACME_MGMT_PORT, validity: Number(env.CERT_VALIDITY_S || 3600) },
      {
        name: 'pebble-short',
        api: port.ACME_SHORT_PORT,
        mgmt: port.ACME_SHORT_MGMT_PORT,
        validity: Number(env.SHORT_CERT_VALIDITY_S || 6),
      },
    ];
    for (const p of pebbles) {
      const config = path.join(dir, `${p.name}.json`);
      fs.writeFileSync(
        config,
        JSON.stringify({
          pebble: {
            listenAddress: `127.0.0.1:${p.api}`,
            managementListenAddress: `127.0.0.1:${p.mgmt}`,
            certificate: path.join(dir, 'cert.pem'),
            privateKey: path.join(dir, 'key.pem'),
            httpPort: port.HTTP01_PORT,
            tlsPort: port.TLSALPN_PORT,
            ocspResponderURL: '',
            externalAccountBindingRequired: false,
            certificateValidityPeriod: p.validity,
          },
        }),
      );
      // Deterministic: no validation sleeps, no spurious badNonce, no authorization reuse between orders.
      p.child = launch(p.name, 'pebble', ['-config', config, '-dnsserver', `127.0.0.1:${port.DNS_PORT}`], {
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: env.NONCEREJECT || '0',
        PEBBLE_AUTHZREUSE: '0',
      });
    }
    const ctsUrl = `http://127.0.0.1:${port.CTS_MGMT_PORT}`;
    await waitReady('challtestsrv', cts, () => get(`${ctsUrl}/`));
    const out = {};
    for (const p of pebbles) {
      await waitReady(p.name, p.child, () =>
        get(`https://localhost:${p.api}/dir`, apiCa).then((r) => {
          if (r.status !== 200) throw new Error(`status ${r.status}`);
        }),
      );
      // Issued certificates chain to a root pebble generates afresh at every start.
      const root = await get(`https://localhost:${p.mgmt}/roots/0`, apiCa);
      if (root.status !== 200 || !root.body.includes('BEGIN CERTIFICATE'))
        throw new Error(`${p.name}: no issuer root from the management port (status ${root.status})`);
      fs.writeFileSync(path.join(dir, `${p.name}-issuer-root.pem`), root.body);
      out[p.name] = { dir: `https://localhost:${p.api}/dir`, root: path.join(dir, `${p.name}-issuer-root.pem`) };
    }
    let extraCa = fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8');
    if (env.NODE_EXTRA_CA_CERTS && fs.existsSync(env.NODE_EXTRA_CA_CERTS))
      extraCa += `\n${fs.readFileSync(env.NODE_EXTRA_CA_CERTS, 'utf8')}`;
    fs.writeFileSync(path.join(dir, 'extra-ca.pem'), extraCa);
    return {
      env: {
        ACME_DIR: out.pebble.dir,
        ACME_ISSUER_ROOT: out.pebble.root,
        ACME_SHORT_DIR: out['pebble-short'].dir,
        ACME_SHORT_ISSUER_ROOT: out['pebble-short'].root,
        ACME_SHORT_VALIDITY_S: String(pebbles[1].validity),
        NODE_EXTRA_CA_CERTS: path.join(dir, 'extra-ca.pem'),
        CHALLTESTSRV: ctsUrl,
        ACME_DNS: `127.0.0.1:${port.DNS_PORT}`,
        HTTP01_PORT: String(port.HTTP01_PORT),
        ACME_SKIP_SELFCHECK: '1',
        ACME_BACKOFF_MIN_MS: '100',
        PEBBLE_LOG_DIR: dir,
      },
      logs,
      pids: children.map((c) => c.pid),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function main(argv) {
  if (argv.length === 0) {
    console.error('usage: node test/pebble.mjs <command> [args...]');
    return 2;
  }
  const t0 = Date.now();
  const pebble = await startPebble();
  // Last resort if this process dies abruptly: children are killed by PID, never by name.
  const killAll = () => {
    for (const pid of pebble.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  process.on('exit', killAll);
  console.error(
    `pebble: ready in ${Date.now() - t0} ms at ${pebble.env.ACME_DIR} (short-lived: ${pebble.env.ACME_SHORT_DIR}), HTTP-01 port ${pebble.env.HTTP01_PORT}`,
  );
  const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...pebble.env } });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward).on('SIGTERM', forward);
  const code = await new Promise((resolve) => {
    child.once('error', (err) => {
      console.error(`pebble: cannot run ${argv[0]}: ${err.message}`);
      resolve(127);
    });
    child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : 1)));
  });
  if (code !== 0) {
    for (const [name, file] of Object.entries(pebble.logs)) console.error(`--- ${name} log (last ${LOG_TAIL_LINES} lines)\n${tail(file)}`);
  }
  await pebble.stop();
  process.off('exit', killAll);
  return code;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`pebble: ${err.message}`);
      process.exit(1);
    },
  );
}
