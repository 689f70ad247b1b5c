import { isPrune, type PathOp } from '../coalesce/types.js';
import { displayPath, isWithin, type RelPath } from '../paths.js';
import type { Failure } from '../queue/types.js';
import { remoteKind } from '../config/remote-kinds.js';
import type { Remote } from '../config/types.js';
import {
  classifyExit,
  describeExit,
  failedPaths,
  lastErrorLine,
  type FailedPath,
  type StderrNotes,
} from './exit-codes.js';
import type { RsyncResult, RsyncTaskKind } from './task.js';

/**
 * The outcome stage: what one rsync run's result means for the batch's operations, by the exit
 * code table (`exit-codes.ts`). Pure.
 */

/** The run's failure, or null when its work arrived. */
export function failureOf(r: RsyncResult): Failure | null {
  if (classifyExit(r.exitCode, r.stderr, notesOf(r)) !== 'ok') {
    const line =
      lastErrorLine(r.stderr) || `rsync exited with ${r.exitCode} (${describeExit(r.exitCode).meaning})`;
    // The line names one path of many: each row of the batch shows it, so say it is one of them.
    return { exitCode: r.exitCode, message: r.stderrCut ? `${line}${CUT_NOTE}` : line };
  }
  const [dir] = r.unreadable;
  return dir === undefined ? null : { exitCode: 23, message: unreadableDirectory(dir) };
}

/** Said after the last line of a run whose errors were more than a run keeps (`RsyncResult.stderrCut`). */
export const CUT_NOTE = '; and more errors than a run keeps: the whole batch waits';

/** A path that fails on its own row (not one of the batch's ops), with the op that retries it. */
export interface OwnRow {
  readonly op: PathOp;
  readonly failure: Failure;
}

/** What failed of a run that arrived in part: ops of the batch, and paths that get rows of their own. */
export interface PartialFailures {
  readonly ops: Map<RelPath, Failure>;
  readonly own: readonly OwnRow[];
}

/**
 * What failed of a run of `kind` that did its work but for some paths, by the run's kind; null when
 * it failed whole (a move's run fails whole: its directory is sent again with the sends).
 */
export function partialOutcome(
  kind: RsyncTaskKind,
  ops: readonly PathOp[],
  r: RsyncResult,
  root: string,
  remote: Remote,
): PartialFailures | null {
  switch (kind) {
    case 'send':
      return partialFailures(ops, r, root, remote);
    case 'full':
      return replicaRefusals(r, root, remote);
    case 'delete':
      return removalFailures(
        ops.filter((op) => op.kind === 'delete'),
        r,
        root,
        remote,
      );
    case 'prune':
      return removalFailures(ops.filter(isPrune), r, root, remote);
    case 'move':
      return null;
  }
}

/**
 * For a send that arrived only in part: the failure of each op whose source rsync could not read,
 * or that the replica could not take, and the directories whose own attributes the replica could
 * not set though no op carried them (a parent rsync's `-R` sent along: the files in it arrived).
 * Null when the failure is about something else, or names a source no op carried: then the whole
 * batch failed.
 */
export function partialFailures(
  ops: readonly PathOp[],
  r: RsyncResult,
  root: string,
  remote: Remote,
): PartialFailures | null {
  return opsNaming(ops, unsentPaths(r, root, remote));
}

/**
 * For a full sync that arrived but for what the replica could not take (exit 23, every line the
 * receiver's or generator's about a path in the tree): each such path with its own row's op (a
 * directory rsync could not make as a tree, for nothing below it was sent) and failure. Null
 * otherwise: a source rsync could not read fails the whole full sync, for rsync then skips its
 * deletions (`IO error encountered -- skipping file deletion`).
 */
export function replicaRefusals(r: RsyncResult, root: string, remote: Remote): PartialFailures | null {
  if (r.unreadable.length > 0 || classifyExit(r.exitCode, r.stderr, notesOf(r)) !== 'partial') return null;
  const named = failedPaths(r.exitCode, r.stderr, root, remoteKind(remote).treePath, notesOf(r));
  // The root's own attributes may wait as a row; the root not made is no partial success.
  if (named === null || named.some((p) => !p.onReplica || (p.path === '' && p.contentsSkipped))) return null;
  return { ops: new Map(), own: ownRows(named) };
}

/**
 * For a removal or prune run that removed but for some entries (exit 23, every line the generator's
 * about the replica): each op (of `removing`: the run's removals or pruned trees) holding an entry
 * rsync could not remove fails with its line; the directories whose attributes it could not set
 * along (the module's top one a daemon's user cannot change, say) get rows of their own, the
 * removals being done. Null otherwise: the run failed whole.
 */
export function removalFailures(
  removing: readonly PathOp[],
  r: RsyncResult,
  root: string,
  remote: Remote,
): PartialFailures | null {
  if (r.unreadable.length > 0 || classifyExit(r.exitCode, r.stderr, notesOf(r)) !== 'partial') return null;
  const named = failedPaths(r.exitCode, r.stderr, root, remoteKind(remote).treePath, notesOf(r));
  if (named === null || named.some((p) => !p.onReplica)) return null;
  const ops = new Map<RelPath, Failure>();
  const alone: FailedPath[] = [];
  for (const failed of named) {
    const op = failed.notRemoved === null ? undefined : removing.find((o) => isWithin(failed.path, o.path));
    if (op === undefined) alone.push(failed);
    else if (!ops.has(op.path)) ops.set(op.path, { exitCode: 23, message: failed.error });
  }
  return { ops, own: ownRows(alone) };
}

/**
 * A row per path: a directory rsync could not make as a tree (nothing below it was sent), an entry
 * it could not remove as its removal.
 */
function ownRows(named: readonly FailedPath[]): OwnRow[] {
  const byPath = new Map<RelPath, OwnRow>();
  for (const { path, error, contentsSkipped, notRemoved } of named) {
    const op: PathOp =
      notRemoved !== null
        ? { kind: 'delete', path, isDir: notRemoved === 'directory' }
        : { kind: contentsSkipped ? 'tree' : 'sync', path };
    const had = byPath.get(path);
    // A directory's contents skipped outweighs its times not set.
    if (had === undefined || (contentsSkipped && had.op.kind === 'sync'))
      byPath.set(path, { op, failure: { exitCode: 23, message: error } });
  }
  return [...byPath.values()];
}

/**
 * What a send could not deliver, by the path of the op that carried it, and the replica's paths
 * no op carried (their own rows); null if a source no op carried is named. A directory the replica
 * could not make fails the ops below it too; one whose attributes it could not set does not.
 */
function opsNaming(ops: readonly PathOp[], unsent: readonly FailedPath[] | null): PartialFailures | null {
  if (unsent === null) return null;
  const failures = new Map<RelPath, Failure>();
  const alone: FailedPath[] = [];
  // An op's own line first: `mkstemp "d/.f.XXXXXX"` says more of `d/f` than `mkdir "d"`.
  const below: [PathOp, string][] = [];
  for (const unsentPath of unsent) {
    const { path, error, onReplica, contentsSkipped } = unsentPath;
    const own = ops.filter(
      (o) => o.path === path || ((o.kind === 'tree' || o.kind === 'move') && isWithin(path, o.path)),
    );
    const under = contentsSkipped ? ops.filter((o) => o.path !== path && isWithin(o.path, path)) : [];
    for (const op of own) if (!failures.has(op.path)) failures.set(op.path, { exitCode: 23, message: error });
    for (const op of under) below.push([op, error]);
    if (own.length + under.length > 0) continue;
    if (!onReplica) return null;
    alone.push(unsentPath);
  }
  for (const [op, error] of below)
    if (!failures.has(op.path)) failures.set(op.path, { exitCode: 23, message: error });
  return { ops: failures, own: ownRows(alone) };
}

/**
 * The paths a send could not deliver, relative to the root, with why: those rsync named (exit 23)
 * and the directories the walk could not list. Null when something else failed.
 */
function unsentPaths(r: RsyncResult, root: string, remote: Remote): FailedPath[] | null {
  const walked = r.unreadable.map((path) => ({
    path,
    error: unreadableDirectory(path),
    onReplica: false,
    contentsSkipped: false,
    notRemoved: null,
  }));
  const outcome = classifyExit(r.exitCode, r.stderr, notesOf(r));
  if (outcome === 'ok') return walked;
  if (outcome !== 'partial') return null;
  const named = failedPaths(r.exitCode, r.stderr, root, remoteKind(remote).treePath, notesOf(r));
  return named === null ? null : [...named, ...walked];
}

/** Reported as rsync reports an unreadable source (exit 23), so that the rows read alike. */
function unreadableDirectory(dir: RelPath): string {
  return `cannot read directory ${displayPath(dir)}: its contents were not sent`;
}

function notesOf(r: RsyncResult): StderrNotes {
  return { gone: r.leftTree, cut: r.stderrCut };
}
