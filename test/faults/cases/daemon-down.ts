import assert from 'node:assert/strict';
import type { RsyncDaemon } from '../../helpers/rsyncd.js';
import { crashDaemon } from '../lib/procs.js';
import { Rig } from '../lib/rig.js';
import { startWriter } from '../lib/workload.js';
import type { CaseResult } from './result.js';

export interface DaemonDownParams {
  readonly dirs: number;
  readonly filesPerDir: number;
  /** How long the daemon stays down. */
  readonly downMs: number;
  /**
   * Also require that no file travels twice once the daemon is back. Under heavy machine load a
   * path can ride in both the released backlog and a later batch (a delta re-send, not lost
   * work), so the bounded run in `npm test` checks convergence only and the soak checks this.
   */
  readonly exactlyOnce: boolean;
}

/**
 * The rsync daemon is killed (with the transfers it is serving) in the middle of a burst, stays
 * down, and comes back: everything converges, and once it is back no file travels twice: the
 * backlog is coalesced per path, and the full sync that follows an interruption (to remove the
 * temp files of killed receivers) sends nothing that already arrived.
 */
export async function daemonDownDuringBurst(
  work: string,
  daemon: RsyncDaemon,
  p: DaemonDownParams,
): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  await rig.start();
  try {
    const writer = startWriter(['burst', rig.src, String(p.dirs), String(p.filesPerDir)]);
    await writer.progress(3);
    await crashDaemon(daemon);
    try {
      await writer.finished();
      await new Promise((r) => setTimeout(r, p.downMs));
      assert.ok(rig.queued().length > 0, 'work waits in the queue while the daemon is down');
    } finally {
      await daemon.restart();
    }
    const before = (await daemon.received()).length;
    await rig.converged(30_000, 'after the daemon came back');
    const counts = new Map<string, number>();
    for (const path of (await daemon.received()).slice(before)) counts.set(path, (counts.get(path) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    if (p.exactlyOnce) assert.deepEqual(twice, [], 'files sent more than once after the daemon came back');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

export interface RenamesDownParams {
  /** Down / up rounds. */
  readonly rounds: number;
  /** Operations of the rename workload while the daemon is down, and again once it is back. */
  readonly ops: number;
  readonly downMs: number;
  readonly seed: number;
}

/**
 * Directories renamed back and forth (and written into) while the rsync daemon is down, and
 * again while the backlog is being sent once it is back: the moves fail and are retried while
 * newer sends create their directories on the replica, and a directory renamed away must still
 * be removed from the replica. While the daemon is down, status shows the queued work and the
 * error; once it is back the replica converges with no stale directory.
 */
export async function dirRenamesWhileDown(
  work: string,
  daemon: RsyncDaemon,
  p: RenamesDownParams,
): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  await rig.start();
  try {
    for (let round = 0; round < p.rounds; round++) {
      const seed = p.seed + round;
      await crashDaemon(daemon);
      try {
        await startWriter(['renames', rig.src, String(p.ops), String(seed)]).finished();
        await new Promise((r) => setTimeout(r, p.downMs));
        const status = rig.cli(['status', '--json']);
        assert.equal(status.status, 0, status.stderr);
        const [remote] = (
          JSON.parse(status.stdout) as { remotes: { queuedRetries: number; lastError: string | null }[] }
        ).remotes;
        assert.ok(
          remote !== undefined && remote.queuedRetries > 0,
          `status shows the backlog: ${status.stdout}`,
        );
        assert.ok(remote.lastError !== null, 'status shows why');
      } finally {
        await daemon.restart();
      }
      await startWriter(['renames', rig.src, String(p.ops), String(seed + 1000)]).finished();
      await rig.converged(30_000, `round ${round + 1} (renames seed ${seed})`);
    }
    return { faults: p.rounds, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}
