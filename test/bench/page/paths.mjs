// The ways a visitor reaches the dev server in the page-load benchmark, each a set of real processes
// on loopback: directly through one link shaper, or through Porthole (the relay over TLS, a shaper on
// the agent's link, the agent, and a shaper on the visitor's link).
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, jsonLine, start, waitForHttp, waitForLine, within } from '../lib.mjs';
import { CACHE } from './tools.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
/** The relay's domain: `.test` is reserved for tests; Chromium and the agent resolve its names to 127.0.0.1. */
export const DOMAIN = 'porthole.test';
const RESOLVE_TEST_NAMES = path.join(root, 'test/tls/resolve-test-names.cjs');

/** A self-signed certificate for the relay's domain and its wildcard, and its key's pin for Chromium. */
export function makeCertificate(dir) {
  const cert = path.join(dir, 'relay.pem');
  const key = path.join(dir, 'relay.key');
  const newKey = ['-nodes', '-days', '2', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-keyout', key];
  const names = ['-subj', `/CN=${DOMAIN}`, '-addext', `subjectAltName=DNS:${DOMAIN},DNS:*.${DOMAIN}`];
  execFileSync('openssl', ['req', '-x509', ...newKey, ...names, '-out', cert], { stdio: 'pipe' });
  const spki = new crypto.X509Certificate(fs.readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
  return { cert, key, pin: crypto.createHash('sha256').update(spki).digest('base64') };
}

export async function startVite(appDir) {
  const port = await freePort();
  const vite = start('vite', process.execPath, [path.join(CACHE, 'node_modules/vite/bin/vite.js'), '--port', String(port)], {
    cwd: appDir,
  });
  await waitForHttp(`http://127.0.0.1:${port}/`, `127.0.0.1:${port}`, 30_000);
  return { ...vite, port };
}

/** A shaper process in front of 127.0.0.1:`targetPort`; `counters()` asks it what has crossed so far. */
export async function startShaper(name, targetPort, link, say) {
  const args = ['--target', `127.0.0.1:${targetPort}`, '--rtt', String(link.rttMs), '--mbit', String(link.mbit)];
  const shaper = start(name, process.execPath, ['--import', 'tsx', path.join(here, 'shaper-process.ts'), ...args], {
    cwd: root,
    ipc: true,
  });
  const { port } = await waitForLine(shaper, jsonLine, 15_000, 'its port');
  // The link must not wait for the ends it connects: Chromium and Vite can keep both cores busy.
  try {
    os.setPriority(shaper.pid, -10);
  } catch (error) {
    say(`${name} keeps normal priority (${error.message}); the shaper's error line shows what that costs`);
  }
  const asked = () =>
    new Promise((resolve) => {
      shaper.child.once('message', resolve);
      shaper.child.send('counters');
    });
  return { ...shaper, port, counters: () => within(5000, `${name}'s counters`, asked()) };
}

/** What the built relay and CLI offer, read from their --help, so that rows turn real as the features land. */
export function features(dist) {
  const help = (args) => execFileSync(process.execPath, args, { encoding: 'utf8' });
  return {
    noHttp2: help([path.join(dist, 'relay.js'), '--help']).includes('--no-http2'),
    noCompress: help([path.join(dist, 'cli.js'), 'share', '--help']).includes('--no-compress'),
  };
}

/**
 * The three shares issue 10 compares, with the flags that select each (`node relay --no-http2`,
 * `porthole share --no-compress`) where the built relay and CLI have them. `unavailable` reads a load
 * (the protocol Chromium negotiated, the Content-Encoding it saw) and says why the row cannot be
 * measured, or nothing when it can.
 */
export function variants({ noHttp2, noCompress }) {
  const offCompression = noCompress ? ['--no-compress'] : [];
  const h2 = (load) => load.protocols.includes('h2');
  const compressed = (load) => load.encodings.length > 0;
  const noHttp2Yet = 'not available (relay lacks HTTP/2)';
  const compressesAnyway = 'not available (the agent compresses and has no --no-compress to turn it off)';
  const http2Anyway = 'not available (the relay offers HTTP/2 and has no --no-http2 to turn it off)';
  return [
    {
      key: 'h1',
      label: 'Porthole, HTTP/1.1',
      relayArgs: noHttp2 ? ['--no-http2'] : [],
      agentArgs: offCompression,
      unavailable: (load) => (h2(load) ? http2Anyway : compressed(load) ? compressesAnyway : undefined),
    },
    {
      key: 'h2',
      label: 'Porthole, HTTP/2',
      relayArgs: [],
      agentArgs: offCompression,
      unavailable: (load) => (!h2(load) ? noHttp2Yet : compressed(load) ? compressesAnyway : undefined),
    },
    {
      key: 'h2c',
      label: 'Porthole, HTTP/2 + compression',
      relayArgs: [],
      agentArgs: [],
      unavailable: (load) => (!h2(load) ? noHttp2Yet : !compressed(load) ? 'not available (agent lacks compression)' : undefined),
    },
  ];
}

/**
 * Relay (TLS, on free ports), a shaper on the agent's link, the agent, and a shaper on the visitor's
 * link, each pushed onto `processes` as it starts. Returns the variant with the public URL and the
 * visitor link's counters.
 */
export async function startShare(variant, { dist, tls, vitePort, link, processes, say }) {
  const tlsArgs = ['--https-port', '0', '--tls-cert', tls.cert, '--tls-key', tls.key];
  const relayArgs = [path.join(dist, 'relay.js'), '--domain', DOMAIN, '--http-port', '0', ...tlsArgs, ...variant.relayArgs];
  const relay = start(`relay-${variant.key}`, process.execPath, relayArgs, { cwd: root });
  processes.push(relay);
  const httpsPort = await waitForLine(relay, (line) => /ready at https:\/\/\S+:(\d+)/.exec(line)?.[1], 15_000, 'ready');
  const agentLink = await startShaper(`agent-link-${variant.key}`, httpsPort, link, say);
  processes.push(agentLink);
  const shareArgs = ['share', `127.0.0.1:${vitePort}`, '--relay', `https://${DOMAIN}:${agentLink.port}`, '--subdomain', 'app'];
  const agent = start(
    `agent-${variant.key}`,
    process.execPath,
    [path.join(dist, 'cli.js'), ...shareArgs, '--json', '--quiet', ...variant.agentArgs],
    {
      cwd: root,
      env: { NODE_EXTRA_CA_CERTS: tls.cert, NODE_OPTIONS: `--require "${RESOLVE_TEST_NAMES}"` },
    },
  );
  processes.push(agent);
  const ready = (line) => {
    const event = jsonLine(line);
    if (event?.event === 'error') throw new Error(`the agent failed: ${event.message}`);
    return event?.event === 'ready' ? event : undefined;
  };
  await waitForLine(agent, ready, 30_000, 'ready');
  const visitorLink = await startShaper(`visitor-link-${variant.key}`, httpsPort, link, say);
  processes.push(visitorLink);
  return { ...variant, url: `https://app.${DOMAIN}:${visitorLink.port}/`, counters: visitorLink.counters };
}
