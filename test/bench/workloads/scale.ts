import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeTree } from '../fixtures.js';
import { forEachContender, withReplicator, type WorkloadContext } from '../harness.js';
import { inotifyWatches, peakResidentBytes, replicatorProcesses, residentBytes } from '../proc.js';
import { atMost } from '../report.js';
import { addSample, ourFigure, type Target, type VariantResult, type WorkloadResult } from '../results.js';

/** Let start-up garbage settle before reading the resident size. */
const SETTLE_MS = 1_000;
/** Issue 14's start-up targets, by tree: ready from spawn (median) and RSS (max). */
const TARGETS = [
  { files: 1_000_000, readyMs: 1_500, rssBytes: 100e6, rssText: '≤ 100 MB (95 MiB)' },
  { files: 100_000, readyMs: 250, rssBytes: 70e6, rssText: '≤ 70 MB (67 MiB)' },
];

/**
 * 6. Scale: start-up on a large tree. Ready = from spawn until a watch is on every directory
 * (sersync-ts: until it prints `watching …`; peers: until /proc shows the watches). Then the
 * watches held and the resident memory of the replicator and its children.
 */
export async function scale(ctx: WorkloadContext): Promise<WorkloadResult> {
  const { lab, sizes } = ctx;
  const variants: VariantResult[] = [];
  const targets: Target[] = [];
  for (const shape of sizes.scale) {
    ctx.progress(`-- ${shape.label}: writing the tree`);
    const seed = join(lab.memoryWork, `scale-${shape.files}`);
    writeTree(seed, shape);
    const contenders = await forEachContender(
      ctx,
      {
        dir: `scale-${shape.files}`,
        seed,
        dirs: shape.dirs + 1,
        floor: null,
        watchOnly: true,
        leaveOut: (s) => (s.slow ? 'start-up does not depend on the delay' : null),
      },
      async (trial) => {
        for (let r = 0; r < shape.repeats; r++) {
          await withReplicator(
            lab,
            trial,
            async (running) => {
              if (running === null) return;
              addSample(trial.result, 'ready', running.readyMs);
              const own = /in (\d+) ms/.exec(running.selfReport ?? '')?.[1];
              if (own !== undefined) addSample(trial.result, 'selfReady', Number(own));
              if (running.selfReport !== null && r === 0)
                trial.result.notes.push(`says: ${running.selfReport}`);
              await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
              const tree = replicatorProcesses(running.pid);
              addSample(trial.result, 'watches', inotifyWatches(tree));
              addSample(trial.result, 'rss', residentBytes(tree));
              addSample(trial.result, 'peak', peakResidentBytes(running.pid));
            },
            false,
          );
        }
      },
    );
    rmSync(seed, { recursive: true, force: true });
    variants.push({ label: shape.label, contenders });
    const target = TARGETS.find((t) => shape.files >= t.files);
    if (target !== undefined) {
      targets.push(
        atMost(
          `scale: ready on ${shape.label}, from spawn (median)`,
          ourFigure(contenders, 'ready', 'median'),
          target.readyMs,
          'ms',
          'incomplete',
        ),
        {
          ...atMost(
            `scale: RSS watching ${shape.label}`,
            ourFigure(contenders, 'rss', 'max'),
            target.rssBytes,
            'bytes',
            'incomplete',
          ),
          limit: target.rssText,
        },
      );
    }
  }
  return {
    name: 'scale',
    title: '6. Scale: start-up on a large tree (empty files)',
    metrics: [
      { key: 'ready', label: 'ready from spawn', unit: 'ms' },
      { key: 'selfReady', label: 'watching took (own report)', unit: 'ms' },
      { key: 'watches', label: 'inotify watches', unit: 'count' },
      { key: 'rss', label: 'RSS', unit: 'bytes' },
      { key: 'peak', label: 'peak RSS', unit: 'bytes' },
    ],
    variants,
    targets,
    notes: [
      'RSS is read 1 s after ready, summed over the replicator and its children except rsync runs; peak RSS is VmHWM of the main process',
      'the trees are on tmpfs (/dev/shm) when there is one: this disk takes ~0.06 ms to create a file',
      'lsyncd is measured while its startup rsync has begun (it is stopped right after); the loop is bash + inotifywait',
    ],
  };
}
