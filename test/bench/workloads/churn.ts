import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { applyPaced, churnPlan } from '../churn-ops.js';
import { awaitConvergence, epochNow } from '../converge.js';
import { copyTree, listTree, writeTree } from '../fixtures.js';
import { forEachContender, withReplicator, type WorkloadContext } from '../harness.js';
import { bareRsync } from '../lab.js';
import { cpuTimes } from '../proc.js';
import { atMost } from '../report.js';
import {
  addSample,
  figure,
  find,
  OURS,
  type ContenderResult,
  type Target,
  type WorkloadResult,
} from '../results.js';
import { convergenceFailure, recordActivity } from './common.js';

const CONVERGE_TIMEOUT_MS = 300_000;
/** Issue 14: converged within 1.5 × the floor, with at most a quarter of lsyncd's CPU. */
const FLOOR_FACTOR = 1.5;
const LSYNCD_CPU_SHARE = 0.25;
const LSYNCD = 'lsyncd delay=0';
const PLAN_SEED = 20261122;

/**
 * 7. Churn: random creates, rewrites, appends, deletes and renames of files and directories,
 * spread over a minute; convergence once it stops, and the CPU the replicator and its rsync runs
 * used (from /proc: utime+stime, and cutime+cstime of the children it has reaped). The floor
 * applies the same operations, then runs one rsync -a --delete of the whole tree.
 */
export async function churn(ctx: WorkloadContext): Promise<WorkloadResult> {
  const { lab, sizes } = ctx;
  const { repeats, ops: count, overMs, files, dirs } = sizes.churn;
  const seed = join(lab.work, 'seeds', 'churn');
  writeTree(seed, { files, dirs, fileBytes: 1024 });
  const { ops, end } = churnPlan(PLAN_SEED, count, listTree(seed));
  const contenders = await forEachContender(
    ctx,
    {
      dir: 'churn',
      seed,
      dirs: dirs + 1,
      floor: 'one rsync -a --delete of the tree at the end',
      leaveOut: (s) =>
        s.slow
          ? 'the 15 s default delay: delay=0 shows its behaviour sooner'
          : s.name === 'inotifywait loop'
            ? 'one whole-tree rsync per event: hours of backlog'
            : null,
    },
    async (trial) => {
      for (let r = 0; r < repeats && trial.result.failures.length === 0; r++) {
        // each repeat starts from the seed, on both sides
        if (r > 0) {
          copyTree(seed, trial.src);
          copyTree(seed, lab.daemon.dir);
        }
        await withReplicator(lab, trial, async (running) => {
          // the floor's rsync is a child of this process; the churn itself starts no process
          const pid = running?.pid ?? process.pid;
          const cpu0 = cpuTimes(pid);
          lab.log.mark();
          await applyPaced(trial.src, ops, running === null ? 0 : overMs);
          const stopped = epochNow();
          if (trial.subject === null) await bareRsync(lab, trial.src, ['--delete'], ['./']);
          const at = await awaitConvergence(lab, trial.src, CONVERGE_TIMEOUT_MS);
          if (at === null) {
            convergenceFailure(trial.result, r, CONVERGE_TIMEOUT_MS);
            return;
          }
          const cpu = cpuTimes(pid);
          addSample(trial.result, 'converge', Math.max(0, at - stopped));
          if (running !== null) addSample(trial.result, 'cpuOwn', cpu.own - cpu0.own);
          addSample(trial.result, 'cpuChildren', cpu.children - cpu0.children);
          await recordActivity(lab, trial.result);
        });
      }
    },
  );
  rmSync(seed, { recursive: true, force: true });
  return {
    name: 'churn',
    title: `7. Churn: ${count.toLocaleString('en')} random operations over ${overMs / 1000} s on ${files.toLocaleString('en')} files in ${dirs} directories (${repeats} repeat${repeats > 1 ? 's' : ''})`,
    metrics: [
      { key: 'converge', label: 'converged after the last operation', unit: 'ms', vsFloor: true },
      { key: 'runs', label: 'rsync runs', unit: 'count' },
      { key: 'bytes', label: 'bytes sent', unit: 'bytes' },
      { key: 'cpuOwn', label: 'CPU, replicator', unit: 's' },
      { key: 'cpuChildren', label: 'CPU, its rsync runs', unit: 's' },
    ],
    variants: [{ label: '', contenders }],
    targets: churnTargets(contenders),
    notes: [
      `the operations are the same for every contender (seeded plan); they leave ${end.files.length.toLocaleString('en')} files in ${end.dirs.length - 1} directories`,
    ],
  };
}

/** Churn's targets, as ratios within the same run: to the floor's convergence, to lsyncd's CPU. Pure. */
export function churnTargets(contenders: readonly ContenderResult[]): Target[] {
  const ours = find(contenders, OURS);
  const usable = (c: ContenderResult | undefined): c is ContenderResult =>
    c !== undefined && c.skipped === null && c.failures.length === 0;
  const over = (key: string, of: ContenderResult | undefined): number | null => {
    const mine = usable(ours) ? figure(ours, key)?.median : undefined;
    const theirs = usable(of) ? figure(of, key)?.median : undefined;
    return mine === undefined || theirs === undefined || theirs <= 0 ? null : mine / theirs;
  };
  return [
    atMost(
      'churn converged after the last operation, × the floor (median)',
      over(
        'converge',
        contenders.find((c) => c.floor),
      ),
      FLOOR_FACTOR,
      'times',
    ),
    atMost(
      `churn: replicator CPU, × ${LSYNCD}'s (median)`,
      over('cpuOwn', find(contenders, LSYNCD)),
      LSYNCD_CPU_SHARE,
      'times',
      `not measured (${LSYNCD} did not run)`,
    ),
  ];
}
