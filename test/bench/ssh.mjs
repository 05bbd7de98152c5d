// OpenSSH's `ssh -R` as the benchmark's yardstick for bulk transfers: Debian's sshd on a free loopback
// port with a throwaway host key, user key and configuration, and an `ssh -R` that publishes the
// origin on another free port of that sshd, as a person would tunnel a dev server through a VPS.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ensureDebianPackages } from '../debian.cjs';
import { freePort, sleep, start, stop, within } from './lib.mjs';

const SSHD = '/usr/sbin/sshd';

/** Installs Debian's openssh-server and client when missing; false when that is not possible here. */
export function ensureSsh(say) {
  try {
    ensureDebianPackages(['openssh-server', 'openssh-client'], { 'openssh-server': SSHD, 'openssh-client': 'ssh' });
    return true;
  } catch (error) {
    say(`could not install OpenSSH (${error.message}); the ssh -R rows are left out`);
    return false;
  }
}

/** `ssh -V` prints its version on stderr, e.g. "OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026". */
export function sshVersion() {
  return spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim().split(',')[0] || 'OpenSSH';
}

/** sshd on 127.0.0.1 with its own keys and settings in a temporary folder; nothing of the system's is used. */
export async function startSshd() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porthole-sshd-'));
  const key = (name) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, name)]);
    return path.join(dir, name);
  };
  const hostKey = key('host_key');
  const userKey = key('user_key');
  fs.copyFileSync(`${userKey}.pub`, path.join(dir, 'authorized_keys'));
  // Privilege separation needs this directory; Debian's service creates it, a bare sshd does not.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      'AllowTcpForwarding yes',
      'GatewayPorts no',
      '',
    ].join('\n'),
  );
  const sshd = start('sshd', SSHD, ['-D', '-e', '-f', config], {});
  await waitForPort(port, 10_000, 'sshd');
  return { ...sshd, port, userKey, dir };
}

/** `ssh -R`: the sshd's loopback port `remotePort` forwards, through this ssh client, to the origin. */
export async function startSshTunnel(name, sshd, originPort) {
  const remotePort = await freePort();
  const ssh = start(
    name,
    'ssh',
    [
      '-N',
      '-p',
      String(sshd.port),
      '-i',
      sshd.userKey,
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      'BatchMode=yes',
      '-R',
      `127.0.0.1:${remotePort}:127.0.0.1:${originPort}`,
      `${os.userInfo().username}@127.0.0.1`,
    ],
    {},
  );
  await waitForPort(remotePort, 10_000, `${name}'s forwarded port`);
  return { ...ssh, port: remotePort, base: `http://127.0.0.1:${remotePort}`, host: `127.0.0.1:${remotePort}` };
}

export async function stopSshd(sshd) {
  await stop(sshd);
  fs.rmSync(sshd.dir, { recursive: true, force: true });
}

function waitForPort(port, ms, what) {
  return within(
    ms,
    `${what} to listen on ${port}`,
    (async () => {
      for (;;) {
        const open = await new Promise((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.destroy();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        });
        if (open) return;
        await sleep(50);
      }
    })(),
  );
}
