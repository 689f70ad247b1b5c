/**
 * A real sshd on 127.0.0.1 (a random free port) that lets this user in with a key of its own, and
 * an `ssh` on PATH that uses that key and trusts that host: sersync2's runs over ssh go through
 * the real ssh, reading its key outside the watched tree. .ci/run installs openssh-server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './rsyncd.js';

const SSHD = '/usr/sbin/sshd';

export interface Sshd {
  readonly port: number;
  /** Whom it lets in: this process's user. */
  readonly user: string;
  /** A directory with the `ssh` to put first on PATH. */
  readonly bin: string;
  /** Its private key: outside every tree a test watches. */
  readonly key: string;
  stop(): Promise<void>;
}

/** Why no sshd can run here, or undefined when one can. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (.ci/run installs openssh-server)`;
  if (process.getuid?.() !== 0) return 'sshd runs as root here';
  return undefined;
}

export async function startSshd(): Promise<Sshd> {
  const dir = await mkdtemp(join(tmpdir(), 'sersync-sshd-'));
  const [hostKey, key, bin] = ['host_key', 'id_ed25519', 'bin'].map((f) => join(dir, f)) as [
    string,
    string,
    string,
  ];
  for (const k of [hostKey, key]) {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${key}.pub`));
  const port = await freePort();
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, 'utf8')}`);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  const clientConfig = join(dir, 'ssh_config');
  writeFileSync(
    clientConfig,
    [
      'Host *',
      `  IdentityFile ${key}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '  LogLevel ERROR',
      '',
    ].join('\n'),
  );
  mkdirSync(bin);
  writeFileSync(join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${clientConfig} "$@"\n`, { mode: 0o755 });
  mkdirSync('/run/sshd', { recursive: true }); // its privilege separation directory
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (c: string) => {
      log += c;
      if (log.includes('Server listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`sshd exited ${code}: ${log}`)));
  });
  return {
    port,
    user: userInfo().username,
    bin,
    key,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
