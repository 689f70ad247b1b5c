import type { PathOp } from '../coalesce/types.js';
import { displayPath, isWithin, type RelPath } from '../paths.js';
import type { Failure } from '../queue/types.js';
import { classifyExit, describeExit, failedSourcePaths, lastErrorLine } from './exit-codes.js';
import type { RsyncResult } from './task.js';

/**
 * The outcome stage: what one rsync run's result means for the batch's operations, by the exit
 * code table (`exit-codes.ts`). Pure.
 */

/** The run's failure, or null when its work arrived. */
export function failureOf(r: RsyncResult): Failure | null {
  if (classifyExit(r.exitCode, r.stderr, r.leftTree) !== 'ok')
    return {
      exitCode: r.exitCode,
      message:
        lastErrorLine(r.stderr) || `rsync exited with ${r.exitCode} (${describeExit(r.exitCode).meaning})`,
    };
  const [dir] = r.unreadable;
  return dir === undefined ? null : { exitCode: 23, message: unreadableDirectory(dir) };
}

/**
 * For a send that arrived only in part: the failure of each op whose source rsync could not read
 * (the rest arrived). Null when the failure is about something else, or names a path no op
 * carried: then the whole batch failed.
 */
export function partialFailures(
  ops: readonly PathOp[],
  r: RsyncResult,
  root: string,
): Map<RelPath, Failure> | null {
  return opsNaming(ops, unsentSourcePaths(r, root));
}

/** What a send could not read, by the path of the op that carried it (null if any is not theirs). */
function opsNaming(
  ops: readonly PathOp[],
  unread: readonly { readonly path: RelPath; readonly error: string }[] | null,
): Map<RelPath, Failure> | null {
  if (unread === null) return null;
  const failures = new Map<RelPath, Failure>();
  for (const { path, error } of unread) {
    const op = ops.find(
      (o) => o.path === path || ((o.kind === 'tree' || o.kind === 'move') && isWithin(path, o.path)),
    );
    if (op === undefined) return null;
    if (!failures.has(op.path)) failures.set(op.path, { exitCode: 23, message: error });
  }
  return failures;
}

/**
 * The source paths a send could not read, relative to the root, with why: those rsync named
 * (exit 23) and the directories the walk could not list. Null when something else failed.
 */
function unsentSourcePaths(r: RsyncResult, root: string): { path: RelPath; error: string }[] | null {
  const walked = r.unreadable.map((path) => ({ path, error: unreadableDirectory(path) }));
  const outcome = classifyExit(r.exitCode, r.stderr, r.leftTree);
  if (outcome === 'ok') return walked;
  if (outcome !== 'partial') return null;
  const named = failedSourcePaths(r.exitCode, r.stderr, root, r.leftTree);
  return named === null ? null : [...named, ...walked];
}

/** Reported as rsync reports an unreadable source (exit 23), so that the rows read alike. */
function unreadableDirectory(dir: RelPath): string {
  return `cannot read directory ${displayPath(dir)}: its contents were not sent`;
}
