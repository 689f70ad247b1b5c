import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awaitConvergence, epochNow } from '../converge.js';
import { pad } from '../fixtures.js';
import { forEachContender, withReplicator, type WorkloadContext } from '../harness.js';
import { bareRsync } from '../lab.js';
import { atMost } from '../report.js';
import { addSample, ourFigure, type WorkloadResult } from '../results.js';
import { convergenceFailure, recordActivity } from './common.js';

const CONVERGE_TIMEOUT_MS = 120_000;
const FILE_BYTES = 1024;
const TARGET_MS = 300;
const TARGET_RUNS = 20;
const TARGET_RECEIVED = 1.01;

/** Writes `files` new 1 KiB files into `dirs` new directories under `src/top`; returns when the last is closed (epoch ms). */
function writeBurst(src: string, top: string, files: number, dirs: number): number {
  const perDir = Math.ceil(files / dirs);
  let written = 0;
  for (let d = 0; d < dirs; d++) {
    const dir = join(src, top, `d${pad(d, 3)}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perDir && written < files; f++, written++) {
      writeFileSync(join(dir, `f${pad(f, 4)}.dat`), randomBytes(FILE_BYTES));
    }
  }
  return epochNow();
}

/**
 * 2. Burst: many small files in new directories, as fast as one process writes them; how long
 * after the last write the replica equals the source, and how many rsync runs it took. The floor
 * is one bare `rsync -a` of the new tree.
 */
export async function burst(ctx: WorkloadContext): Promise<WorkloadResult> {
  const { lab, sizes } = ctx;
  const { files, dirs, repeats } = sizes.burst;
  const contenders = await forEachContender(
    ctx,
    { dir: 'burst', seed: null, dirs: 1, floor: 'one rsync -a of the new tree' },
    async (trial) => {
      for (let r = 0; r < repeats && trial.result.failures.length === 0; r++) {
        await withReplicator(lab, trial, async () => {
          lab.log.mark();
          const started = epochNow();
          const top = `burst${r}`;
          const lastWrite = writeBurst(trial.src, top, files, dirs);
          addSample(trial.result, 'write', lastWrite - started);
          if (trial.subject === null) await bareRsync(lab, trial.src, [], [top]);
          const at = await awaitConvergence(lab, trial.src, CONVERGE_TIMEOUT_MS);
          if (at === null) {
            convergenceFailure(trial.result, r, CONVERGE_TIMEOUT_MS);
            return;
          }
          addSample(trial.result, 'converge', Math.max(0, at - lastWrite));
          const { received } = await recordActivity(lab, trial.result);
          // Files the daemon received per file written: above 1, some travelled twice.
          addSample(trial.result, 'received', received.filter((n) => !n.endsWith('/')).length / files);
        });
      }
    },
  );
  return {
    name: 'burst',
    title: `2. Burst: ${files.toLocaleString('en')} × 1 KiB files in ${dirs} new directories (${repeats} repeat${repeats > 1 ? 's' : ''})`,
    metrics: [
      { key: 'write', label: 'writing took', unit: 'ms' },
      { key: 'converge', label: 'converged after last write', unit: 'ms', vsFloor: true },
      { key: 'runs', label: 'rsync runs', unit: 'count' },
      { key: 'bytes', label: 'bytes sent', unit: 'bytes' },
      { key: 'received', label: 'files received / written', unit: 'times' },
    ],
    variants: [{ label: '', contenders }],
    targets: [
      atMost(
        'burst converged after the last write (median)',
        ourFigure(contenders, 'converge', 'median'),
        TARGET_MS,
        'ms',
        'incomplete',
      ),
      atMost(
        'burst rsync runs (max)',
        ourFigure(contenders, 'runs', 'max'),
        TARGET_RUNS,
        'count',
        'incomplete',
      ),
      atMost(
        'burst files received per file written (max)',
        ourFigure(contenders, 'received', 'max'),
        TARGET_RECEIVED,
        'times',
        'incomplete',
      ),
    ],
    notes: [
      'rsync runs and bytes are counted at the daemon (sessions and their summaries in its log), the same for every contender',
    ],
  };
}
