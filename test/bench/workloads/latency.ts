import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arrival } from '../converge.js';
import { writeTree } from '../fixtures.js';
import { forEachContender, withReplicator, type WorkloadContext } from '../harness.js';
import { bareRsync, openLab } from '../lab.js';
import { atMost, formatValue } from '../report.js';
import {
  addSample,
  figure,
  find,
  OURS,
  ourFigure,
  type Target,
  type VariantResult,
  type WorkloadResult,
} from '../results.js';
import type { TreeShape } from '../sizes.js';
import { mean } from '../stats.js';

const ARRIVAL_TIMEOUT_MS = 30_000;
const FILE_BYTES = 1024;
const TARGET_MS = 10;
const FLOOR_FACTOR = 1.3;
const FLOOR_SLACK_MS = 2;

/**
 * 1. Latency: one small file written and closed, until it is complete on the replica (the daemon
 * renames it into place; an inotify watch on the replica sees that). The floor times one bare
 * rsync of the file from its start. Every tree goes to the lab's daemon (`socket options =
 * TCP_NODELAY`); the empty tree also to a default rsyncd (no `socket options`), with its own floor,
 * because that is what most backup servers run and Nagle costs each run there.
 */
export async function latency(ctx: WorkloadContext): Promise<WorkloadResult> {
  const { sizes } = ctx;
  const variants: VariantResult[] = [];
  for (const tree of sizes.latency.trees) variants.push(await measure(ctx, tree, tree.label));
  const [first] = sizes.latency.trees;
  if (first !== undefined) {
    const plain = await openLab(null);
    try {
      variants.push(await measure({ ...ctx, lab: plain }, first, `${first.label}, default rsyncd`));
    } finally {
      await plain.close();
    }
  }
  return {
    name: 'latency',
    title: `1. Latency: one ${FILE_BYTES}-byte file written and closed → complete on the replica`,
    metrics: [{ key: 'latency', label: 'latency', unit: 'ms', vsFloor: true }],
    variants,
    targets: variants.flatMap((v) => [latencyTarget(v), floorTarget(v)]),
    notes: [
      "the default rsyncd variant runs against a second daemon without `socket options`; every other against the lab's daemon with `socket options = TCP_NODELAY`",
    ],
  };
}

/** One tree's variant: the floor and every contender, on `ctx.lab`'s daemon. */
async function measure(ctx: WorkloadContext, tree: TreeShape, label: string): Promise<VariantResult> {
  const { lab, sizes } = ctx;
  ctx.progress(`-- ${label}`);
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
  return { label, contenders };
}

/** The target: mean ≤ 1.3 × the floor's mean (a bare rsync to the same daemon) + 2 ms. */
function floorTarget(v: VariantResult): Target {
  const ours = find(v.contenders, OURS);
  const floor = v.contenders.find((c) => c.floor);
  const oursMean = ours === undefined || ours.failures.length > 0 ? null : mean(ours.samples.latency ?? []);
  const floorMean = floor === undefined ? null : mean(floor.samples.latency ?? []);
  const what = `latency mean vs the floor, ${v.label}`;
  if (oursMean === null || floorMean === null) return atMost(what, null, 0, 'ms', 'incomplete');
  const limit = FLOOR_FACTOR * floorMean + FLOOR_SLACK_MS;
  const t = atMost(what, oursMean, limit, 'ms');
  return {
    ...t,
    measured: `${t.measured} (floor ${formatValue(floorMean, 'ms')})`,
    limit: `${t.limit} = ${FLOOR_FACTOR} × floor + ${FLOOR_SLACK_MS} ms`,
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
