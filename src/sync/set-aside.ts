import { remoteKind } from '../config/remote-kinds.js';
import type { Remote } from '../config/types.js';
import { isWithin, type RelPath } from '../paths.js';
import type { Failure } from '../queue/types.js';
import { replicaRefusal } from './exit-codes.js';
import { setAsideRules } from './rsync-args.js';
import type { RsyncResult, RsyncTask } from './task.js';

/**
 * A file the replica refused, for want of room or for its size, is set aside: it gets its own row
 * in the retry queue and the run goes again without it. rsync stops a run at the first file its
 * receiver cannot write (exit 11), so every file after it in the run's list stayed behind, and
 * its retries stopped at the same file: one video larger than the room left held back every small
 * upload batched with it, for as long as the disk stayed short. sersync, one run per change, had
 * them arrive. A small file refused means the disk is full: nothing is set aside then, and the
 * batch waits whole, one quick failure per retry instead of one per file.
 */

/** A refused file smaller than this says the disk is full rather than that this file is large. */
export const SET_ASIDE_MIN_BYTES = 1 << 20;

/** Files set aside in one batch at most: the runs a batch may take are bounded. */
export const MAX_SET_ASIDE = 8;

/** The files a batch has set aside so far (a set, or the lane's map of them to their failures). */
type SetAsideSoFar = Pick<ReadonlySet<RelPath>, 'has' | 'size'>;

export interface SetAside {
  /** The refused file, relative to the tree. */
  readonly path: RelPath;
  /** Its row's failure: rsync's line about it. */
  readonly failure: Failure;
}

/**
 * The file to set aside after run `r` of `task` failed, or null when the failure is not a
 * refusal of one file that others in the run could get past. `aside`: files already set aside in
 * this batch; `sizeOf`: the file's size in the tree now (null when it is gone). Pure but for `sizeOf`.
 */
export function fileToSetAside(
  task: RsyncTask,
  r: RsyncResult,
  remote: Remote,
  aside: SetAsideSoFar,
  sizeOf: (path: RelPath) => number | null,
): SetAside | null {
  if (aside.size >= MAX_SET_ASIDE || (task.kind !== 'send' && task.kind !== 'full')) return null;
  const refusal = replicaRefusal(r.exitCode, r.stderr);
  if (refusal === null) return null;
  const path = remoteKind(remote).treePath(refusal.name);
  if (path === null || aside.has(path) || !carriesOthers(task, path, aside)) return null;
  const size = sizeOf(path);
  if (size === null || (!refusal.tooLarge && size < SET_ASIDE_MIN_BYTES)) return null;
  return { path, failure: { exitCode: r.exitCode, message: refusal.line } };
}

/** `task` without the files set aside; null when a name cannot be left out by argv (see `setAsideRules`). */
export function withoutSetAside(task: RsyncTask, aside: readonly RelPath[]): RsyncTask | null {
  const rules = setAsideRules(aside);
  if (rules === null) return null;
  // Every run's argv ends with its source and destination; options go before them.
  const at = task.args.length - 2;
  return { ...task, args: [...task.args.slice(0, at), ...rules, ...task.args.slice(at)] };
}

/** Whether the run carries `path` and something besides it and the files already set aside. */
function carriesOthers(task: RsyncTask, path: RelPath, aside: SetAsideSoFar): boolean {
  if (task.kind === 'full') return true;
  const input = task.input;
  if (input?.kind !== 'files') return false;
  const inTree = input.trees.some((t) => isWithin(path, t));
  if (!inTree && !input.paths.includes(path)) return false;
  return input.trees.length > 0 || input.paths.some((p) => p !== path && !aside.has(p));
}
