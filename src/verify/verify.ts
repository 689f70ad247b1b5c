/**
 * `sersync2 verify` for one tree and one remote: a dry run of the full sync lists what differs;
 * what the daemon has outstanding, and what changed in the tree while the verify ran, is
 * pending, not drift; the rest is compared once more after a short wait, and only what still
 * differs then is drift.
 */
import { lstatSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config, Remote } from '../config/types.js';
import { parentOf, type RelPath } from '../paths.js';
import { SersyncError } from '../errors.js';
import type { ProgressReporter } from '../sync/progress-report.js';
import type { RsyncTask } from '../sync/task.js';
import { lookAtRoot, originOf, unusableRoot } from '../sync/root-identity.js';
import { absoluteBytes } from '../sync/walk.js';
import { recheckTask, verifyTask } from './args.js';
import { dryRun } from './dry-run.js';
import { withTypeChanges, type Difference } from './itemize.js';
import { isPending, opsOf, type PendingLane } from './pending.js';

/** The outcome for one tree and one remote. */
export interface LaneVerdict {
  readonly root: string;
  readonly remote: string;
  /** Differences nothing explains. */
  readonly drift: readonly Difference[];
  /** Differences the daemon is about to send, or that changed during the verify. */
  readonly pending: readonly Difference[];
  /** Entries only the replica has while `<delete start="false">`: expected, not drift. */
  readonly keptExtra: readonly Difference[];
  /** Paths the remote's daemon refuses to receive (its module's exclude or filter): not compared. */
  readonly daemonRefused: readonly RelPath[];
  /** Times compared to the second: the remote refused the nanosecond window (see `time-window.ts`). */
  readonly toTheSecond: boolean;
  /** Nothing listed that only the replica has: its daemon refuses `--delete` (see `concessions.ts`). */
  readonly extrasNotListed: boolean;
  /** Why the comparison could not be made (then the lists are empty). */
  readonly error: string | null;
}

export interface VerifyContext {
  readonly config: Config;
  readonly checksum: boolean;
  /** What the running daemon has outstanding; null when none runs. */
  readonly pending: () => Promise<readonly PendingLane[] | null>;
  /** How long to wait before comparing the differing paths again. */
  readonly recheckMs: number;
  readonly progress: ProgressReporter | null;
  /** Ends the comparison early (rsync killed); the verdict then carries the error. */
  readonly signal?: AbortSignal;
}

export async function verifyLane(root: string, remote: Remote, ctx: VerifyContext): Promise<LaneVerdict> {
  const { config, checksum } = ctx;
  const verdict = {
    root,
    remote: remote.id,
    drift: [],
    pending: [],
    keptExtra: [],
    daemonRefused: [],
    toTheSecond: false,
    extrasNotListed: false,
    error: null,
  };
  try {
    const started = Date.now();
    const track = ctx.progress?.begin({ root, remote: remote.id }) ?? null;
    const pinned = pinnedRoot(root);
    if (typeof pinned === 'string') throw new SersyncError('ERR_SERSYNC_VERIFY', `cannot compare ${pinned}`);
    const {
      differences: first,
      daemonRefused,
      conceded,
    } = await dryRun({ ...verifyTask(config, root, remote, checksum), ...pinned }, track, ctx.signal);
    const compared = {
      ...verdict,
      daemonRefused,
      toTheSecond: conceded.has('nanosecond-window'),
      extrasNotListed: conceded.has('removals'),
    };
    if (first.length === 0) return compared;
    const before = await ctx.pending();
    await sleep(ctx.recheckMs, undefined, ctx.signal === undefined ? {} : { signal: ctx.signal });
    const paths = first.map((d) => d.path);
    const again = new Map(
      (
        await dryRun({ ...recheckTask(config, root, remote, paths, checksum), ...pinned }, null, ctx.signal)
      ).differences.map((d) => [d.path, d]),
    );
    const after = await ctx.pending();
    const ops = [...opsOf(before ?? [], root, remote.id), ...opsOf(after ?? [], root, remote.id)];
    const stillDiffer = withTypeChanges(first.flatMap((d) => again.get(d.path) ?? []));
    const explained = (d: Difference): boolean =>
      isPending(d.path, ops) || changedSince(root, d.path, started);
    const drift = stillDiffer.filter((d) => !explained(d));
    const keep = (d: Difference): boolean => !config.inotify.delete && d.kind === 'extra';
    return {
      ...compared,
      drift: drift.filter((d) => !keep(d)),
      keptExtra: drift.filter(keep),
      pending: stillDiffer.filter(explained),
    };
  } catch (err) {
    return { ...verdict, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The root as the engine would take it, for a dry run to start in; why not when it cannot be used
 * (missing, or reached through a link someone else planted).
 */
export function pinnedRoot(root: string): Pick<RsyncTask, 'cwd' | 'rootId'> | string {
  const look = lookAtRoot(root);
  const origin = originOf(look);
  return origin === null ? unusableRoot(root, look) : { cwd: origin.resolved, rootId: origin.id };
}

/**
 * Whether the tree's entry at `path` (or, when it is gone, the directory it was removed from)
 * changed after `since`: the daemon may not have seen its event yet.
 */
function changedSince(root: string, path: RelPath, since: number): boolean {
  for (let p: RelPath | null = path; p !== null; p = p === '' ? null : parentOf(p)) {
    try {
      const st = lstatSync(absoluteBytes(root, p));
      return Math.max(st.ctimeMs, st.mtimeMs) >= since - CLOCK_SLACK_MS;
    } catch {
      // gone: its parent's change says when
    }
  }
  return false;
}

/** File times come from the kernel's coarse clock, a tick behind `Date.now()`. */
const CLOCK_SLACK_MS = 50;
