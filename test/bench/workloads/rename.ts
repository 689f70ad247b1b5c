import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { awaitConvergence, epochNow } from '../converge.js';
import { writeTree } from '../fixtures.js';
import { forEachContender, withReplicator, type WorkloadContext } from '../harness.js';
import { bareRsync } from '../lab.js';
import { atMost } from '../report.js';
import { addSample, ourFigure, type WorkloadResult } from '../results.js';
import { convergenceFailure, recordActivity } from './common.js';

const CONVERGE_TIMEOUT_MS = 120_000;
const FILE_BYTES = 1024;
const TARGET_PERCENT = 5;

/**
 * 5. Rename: a directory of many files renamed. Its contents are on the replica already; a
 * replicator that knows the rename sends almost nothing, one that does not re-sends it all (the
 * floor: a bare `rsync -a --delete` of the parent).
 */
export async function rename(ctx: WorkloadContext): Promise<WorkloadResult> {
  const { lab, sizes } = ctx;
  const { files, repeats } = sizes.rename;
  const dirBytes = files * FILE_BYTES;
  const seed = join(lab.work, 'seeds', 'rename');
  writeTree(join(seed, 'ren', 'd0'), { files, dirs: 0, fileBytes: FILE_BYTES });
  const contenders = await forEachContender(
    ctx,
    {
      dir: 'rename',
      seed,
      dirs: 3,
      floor: 'one rsync -a --delete of the parent',
      leaveOut: (s) =>
        s.slow
          ? 'the 15 s default delay: delay=0 shows its behaviour sooner'
          : s.name === 'inotifywait loop'
            ? 'a rename is not in its event list (close_write,delete): never replicated until an unrelated change'
            : null,
    },
    async (trial) => {
      for (let r = 0; r < repeats && trial.result.failures.length === 0; r++) {
        await withReplicator(lab, trial, async () => {
          lab.log.mark();
          renameSync(join(trial.src, 'ren', `d${r}`), join(trial.src, 'ren', `d${r + 1}`));
          const renamed = epochNow();
          if (trial.subject === null) await bareRsync(lab, trial.src, ['--delete'], ['ren/'], 'ren/');
          const at = await awaitConvergence(lab, trial.src, CONVERGE_TIMEOUT_MS);
          if (at === null) {
            convergenceFailure(trial.result, r, CONVERGE_TIMEOUT_MS);
            return;
          }
          addSample(trial.result, 'converge', Math.max(0, at - renamed));
          const { bytes } = await recordActivity(lab, trial.result);
          addSample(trial.result, 'share', (100 * bytes) / dirBytes);
        });
      }
    },
  );
  rmSync(seed, { recursive: true, force: true });
  return {
    name: 'rename',
    title: `5. Rename: a directory of ${files.toLocaleString('en')} × 1 KiB files renamed (${repeats} repeat${repeats > 1 ? 's' : ''})`,
    metrics: [
      { key: 'converge', label: 'converged after mv', unit: 'ms', vsFloor: true },
      { key: 'runs', label: 'rsync runs', unit: 'count' },
      { key: 'bytes', label: 'bytes sent', unit: 'bytes', vsFloor: true },
      { key: 'share', label: "of the directory's size", unit: 'percent' },
    ],
    variants: [{ label: '', contenders }],
    targets: [
      atMost(
        "rename: bytes sent / the directory's size (max)",
        ourFigure(contenders, 'share', 'max'),
        TARGET_PERCENT,
        'percent',
        'incomplete',
      ),
    ],
    notes: [],
  };
}
