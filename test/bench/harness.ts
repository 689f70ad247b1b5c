import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { copyTree } from './fixtures.js';
import type { Lab } from './lab.js';
import { contenderResult, skippedResult, type ContenderResult } from './results.js';
import type { Sizes } from './sizes.js';
import type { Running, Subject } from './subjects.js';

export interface WorkloadContext {
  readonly lab: Lab;
  readonly sizes: Sizes;
  readonly subjects: readonly Subject[];
  /** Progress, one line at a time, while a long workload runs. */
  readonly progress: (line: string) => void;
}

/** One contender on one workload: fresh source and replica, its own scratch directory. */
export interface Trial {
  readonly result: ContenderResult;
  /** null: the floor (bare rsync, no replicator). */
  readonly subject: Subject | null;
  readonly src: string;
  readonly scratch: string;
  /** Directories in the source tree, the root included. */
  readonly dirs: number;
}

export interface ContenderPlan {
  /** A directory name under the lab for this workload (variant). */
  readonly dir: string;
  /** The starting tree, copied as source and as replica for every contender; null: both empty. */
  readonly seed: string | null;
  readonly dirs: number;
  /** The floor's name (what bare rsync does here), or null when the workload has no floor. */
  readonly floor: string | null;
  /** Why a subject is left out of this workload, or null to run it. */
  readonly leaveOut?: (s: Subject) => string | null;
  /** The workload only watches: the seed itself is the source (no copy) and the replica starts empty. */
  readonly watchOnly?: boolean;
}

/** Replicators running now, stopped by `stopAll` when the bench is interrupted. */
const live = new Set<Running>();

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((r) => r.stop()));
}

/**
 * Runs `body` for the floor (if any) and then every subject, each on a fresh copy of the seed. A
 * contender that is not installed is recorded as skipped; one that throws is recorded as failed
 * and the bench goes on with the next.
 */
export async function forEachContender(
  ctx: WorkloadContext,
  plan: ContenderPlan,
  body: (trial: Trial) => Promise<void>,
): Promise<ContenderResult[]> {
  const out: ContenderResult[] = [];
  const contenders: (Subject | null)[] = [...(plan.floor === null ? [] : [null]), ...ctx.subjects];
  for (const subject of contenders) {
    const name = subject === null ? `floor: ${plan.floor ?? ''}` : subject.name;
    const why = subject === null ? null : (subject.missing() ?? plan.leaveOut?.(subject) ?? null);
    if (why !== null) {
      out.push(skippedResult(name, why));
      continue;
    }
    const result = contenderResult(name, subject === null);
    out.push(result);
    const scratch = join(ctx.lab.work, plan.dir, slug(name));
    const src = plan.watchOnly === true && plan.seed !== null ? plan.seed : join(scratch, 'src');
    mkdirSync(scratch, { recursive: true });
    ctx.progress(`  ${name}…`);
    try {
      if (src !== plan.seed) copyOrEmpty(plan.seed, src);
      copyOrEmpty(plan.watchOnly === true ? null : plan.seed, ctx.lab.daemon.dir);
      await body({ result, subject, src, scratch, dirs: plan.dirs });
    } catch (err) {
      result.failures.push(err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  return out;
}

/**
 * Runs `body` with the trial's replicator started (and stopped after, whatever happens); for the
 * floor, with null. With `settle`, a peer's startup sync is over before `body` runs.
 */
export async function withReplicator<T>(
  lab: Lab,
  trial: Trial,
  body: (running: Running | null) => Promise<T>,
  settle = true,
): Promise<T> {
  if (trial.subject === null) return body(null);
  const running = await trial.subject.start({
    lab,
    src: trial.src,
    scratch: trial.scratch,
    dirs: trial.dirs,
    settle,
  });
  live.add(running);
  try {
    if (settle) await lab.log.quiet(200);
    return await body(running);
  } finally {
    live.delete(running);
    await running.stop();
  }
}

function copyOrEmpty(seed: string | null, to: string): void {
  if (seed === null) {
    rmSync(to, { recursive: true, force: true });
    mkdirSync(to, { recursive: true });
  } else copyTree(seed, to);
}

function slug(name: string): string {
  return name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
}
