import type { RelPath } from '../paths.js';

/**
 * One thing the replica needs, for one path of one tree: what the coalescer hands to a sync
 * batch, what a failed batch leaves in the retry queue.
 */
export type PathOp =
  /** Send the entry itself: a file, or a directory's own attributes (not its contents). */
  | { readonly kind: 'sync'; readonly path: RelPath }
  /**
   * Send the entry and everything below it (a new or moved-in directory). `prune`: first remove
   * from the replica's copy what the source no longer has there: a walk may have sent entries made
   * below a new directory before its watch was set, and no event tells if they went again.
   */
  | { readonly kind: 'tree'; readonly path: RelPath; readonly prune?: true }
  /** Remove the entry from the replica (a directory with everything below it). */
  | { readonly kind: 'delete'; readonly path: RelPath; readonly isDir: boolean }
  /**
   * A directory renamed within the tree: send `path` using `from` on the replica as the basis,
   * so unchanged files are linked, not re-sent. `from` is deleted by its own `delete` op.
   */
  | { readonly kind: 'move'; readonly path: RelPath; readonly from: RelPath }
  /** Resync the whole tree (an overflow, a crash, a failed full sync); `path` is ''. */
  | { readonly kind: 'full'; readonly path: '' };

export type PathOpKind = PathOp['kind'];

/** A directory sent whole that prunes its copy first. */
export function isPrune(op: PathOp): op is Extract<PathOp, { kind: 'tree' }> {
  return op.kind === 'tree' && op.prune === true;
}
