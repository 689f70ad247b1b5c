import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { DaemonLog } from './daemon-log.js';

/**
 * What every workload shares: one real rsync daemon on 127.0.0.1 (its module is the replica) and a
 * scratch directory. Replicators run one at a time, so the daemon log is theirs alone.
 */
export interface Lab {
  readonly daemon: RsyncDaemon;
  readonly log: DaemonLog;
  readonly work: string;
  /**
   * Scratch space on tmpfs (/dev/shm) when there is one, else in `work`: for trees that are only
   * watched, never transferred, and take ten times longer to create on this disk.
   */
  readonly memoryWork: string;
  /**
   * `<commonParams>` for sersync-ts: the shipped `-artuz` without `-z`; compression on loopback
   * only burns the two cores, and neither the floor nor lsyncd's `-lts` compresses.
   */
  readonly params: string;
  close(): Promise<void>;
}

/** `socketOptions`: the daemon's `socket options` (default TCP_NODELAY; null: a default rsyncd). */
export async function openLab(socketOptions?: string | null): Promise<Lab> {
  const daemon = await startRsyncDaemon(socketOptions === undefined ? {} : { socketOptions });
  const work = await mkdtemp(join(tmpdir(), 'sersync-bench-'));
  const memoryWork = existsSync('/dev/shm') ? await mkdtemp('/dev/shm/sersync-bench-') : work;
  return {
    daemon,
    log: new DaemonLog(daemon.logFile),
    work,
    memoryWork,
    params: '-artu',
    async close() {
      await disposeRsyncDaemon(daemon);
      await rm(work, { recursive: true, force: true });
      await rm(memoryWork, { recursive: true, force: true });
    },
  };
}

/** The module as an rsync URL (`rsync://user@127.0.0.1:port/module`), as lsyncd and the loop take it. */
export function daemonUrl(lab: Lab): string {
  const d = lab.daemon;
  return `rsync://${d.user}@127.0.0.1:${d.port}/${d.module}`;
}

/**
 * The floor: one bare rsync run (`-a`, TCP_NODELAY) of `sources` from `cwd` to the module (or a
 * directory in it). Rejects unless rsync exits 0.
 */
export async function bareRsync(
  lab: Lab,
  cwd: string,
  options: readonly string[],
  sources: readonly string[],
  sub = '',
): Promise<void> {
  const d = lab.daemon;
  const args = [
    '-a',
    '--sockopts=TCP_NODELAY',
    `--port=${d.port}`,
    `--password-file=${d.passwordFile}`,
    ...options,
    '--',
    ...sources,
    `${d.user}@127.0.0.1::${d.module}/${sub}`,
  ];
  const child = spawn('rsync', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (stderr += c));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`rsync ${args.join(' ')} exited ${code}: ${stderr}`);
}
