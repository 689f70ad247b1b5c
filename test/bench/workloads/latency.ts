import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrival } from '../converge.js';
import { writeTree } from '../fixtures.js';
import { forEachContender, withReplicator, type WorkloadContext } from '../harness.js';
import { bareRsync } from '../lab.js';
import { atMost, formatValue } from '../report.js';
import {
  addSample,
  figure,
  find,
  ourFigure,
  type Target,
  type VariantResult,
  type WorkloadResult,
} from '../results.js';

const ARRIVAL_TIMEOUT_MS = 30_000;
const FILE_BYTES = 1024;
const TARGET_MS = 10;

/**
 * 1. Latency: one small file written and closed, until it is complete on the replica (the daemon
 * renames it into place; an inotify watch on the replica sees that). The floor times one bare
 * rsync of the file from its start.
 */
export async function latency(ctx: WorkloadContext): Promise<WorkloadResult> {
  const { lab, sizes } = ctx;
  const variants: VariantResult[] = [];
  for (const tree of sizes.latency.trees) {
    ctx.progress(`-- ${tree.label}`);
    const seed = tree.files === 0 ? null : join(lab.work, 'seeds', 'latency');
    if (seed !== null) writeTree(seed, tree);
    const contenders = await forEachContender(
      ctx,
      {
        dir: `latency-${tree.files}`,
        seed,
        dirs: tree.dirs + 1,
        floor: 'one bare rsync of the file',
      },
      async (trial) => {
        const repeats = trial.subject?.slow === true ? sizes.latency.slowRepeats : sizes.latency.repeats;
        if (repeats !== sizes.latency.repeats) trial.result.notes.push(`${repeats} repeats`);
        await withReplicator(lab, trial, async () => {
          for (let i = 0; i < repeats; i++) {
            await lab.log.quiet(100); // the previous repeat is completely done
            const name = `latency-${i}.txt`;
            const content = randomBytes(FILE_BYTES);
            const arrived = arrival(lab.daemon.dir, name, content, ARRIVAL_TIMEOUT_MS);
            writeFileSync(join(trial.src, name), content);
            const closed = performance.now();
            if (trial.subject === null) await bareRsync(lab, trial.src, [], [name]);
            const at = await arrived;
            if (at === null) {
              trial.result.failures.push(
                `repeat ${i + 1}: not on the replica after ${ARRIVAL_TIMEOUT_MS / 1000} s`,
              );
              return;
            }
            addSample(trial.result, 'latency', at - closed);
          }
        });
      },
    );
    if (seed !== null) rmSync(seed, { recursive: true, force: true });
    variants.push({ label: tree.label, contenders });
  }
  return {
    name: 'latency',
    title: `1. Latency: one ${FILE_BYTES}-byte file written and closed → complete on the replica`,
    metrics: [{ key: 'latency', label: 'latency', unit: 'ms', vsFloor: true }],
    variants,
    targets: variants.map(latencyTarget),
    notes: [],
  };
}

/** The target, with lsyncd's figure from the same run beside it. */
function latencyTarget(v: VariantResult): Target {
  const ours = ourFigure(v.contenders, 'latency', 'median');
  const t = atMost(`latency p50, ${v.label}`, ours, TARGET_MS, 'ms', 'incomplete');
  const lsyncd = figure(find(v.contenders, 'lsyncd delay=0'), 'latency')?.median;
  if (ours === null || lsyncd === undefined) return t;
  return {
    ...t,
    measured: `${t.measured} (lsyncd delay=0: ${formatValue(lsyncd, 'ms')}, ${(lsyncd / ours).toFixed(1)}× slower)`,
  };
}
