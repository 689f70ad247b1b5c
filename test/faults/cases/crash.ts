import { statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RsyncDaemon } from '../../helpers/rsyncd.js';
import { prng } from '../../helpers/prng.js';
import { Rig } from '../lib/rig.js';
import { startWriter } from '../lib/workload.js';
import type { CaseResult } from './result.js';

export interface CrashParams {
  /** kill -9 / restart rounds. */
  readonly kills: number;
  /** Random operations of the churn in each round. */
  readonly ops: number;
  readonly seed: number;
}

/**
 * `kill -9` of the replicator at a random moment of a churn workload, then a restart while the
 * churn goes on; after each round the replica equals the source and the queue is empty. The
 * moments and the churn come from `seed`.
 */
export async function killedDuringChurn(
  work: string,
  daemon: RsyncDaemon,
  p: CrashParams,
): Promise<CaseResult> {
  const rnd = prng(p.seed);
  const rig = Rig.create(work, { daemon });
  try {
    await rig.start();
    for (let round = 0; round < p.kills; round++) {
      const seed = Math.floor(rnd() * 2 ** 31);
      const writer = startWriter(['churn', rig.src, String(p.ops), String(seed)]);
      await writer.progress(1 + Math.floor(rnd() * 8));
      await rig.kill9();
      await rig.start();
      await writer.finished();
      await rig.converged(30_000, `round ${round + 1} (churn seed ${seed})`);
    }
    return { faults: p.kills, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * A file rewritten at the same size within the same second as the replica's copy while sersync2
 * was not running: only a full sync can see it, and only by comparing times to the nanosecond
 * (rsync's quick check compares whole seconds).
 */
export async function rewriteWhileDown(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  const file = join(rig.src, 'same-size.txt');
  try {
    await rig.start();
    writeFileSync(file, 'version 1');
    await rig.converged(10_000, 'the first version');
    await rig.stop();
    const copied = statSync(join(rig.replica, 'same-size.txt'));
    writeFileSync(file, 'version 2');
    const second = Math.floor(copied.mtimeMs / 1000);
    const within = second + (copied.mtimeMs / 1000 - second < 0.5 ? 0.75 : 0.25);
    utimesSync(file, within, within);
    await rig.start(['-r']);
    await rig.converged(10_000, 'after the full sync');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}
