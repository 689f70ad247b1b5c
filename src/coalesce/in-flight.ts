import type { RelPath } from '../paths.js';
import { parentOf } from '../paths.js';
import type { PathOp } from './types.js';

/**
 * The batch in flight, indexed so that "may it create this path on the replica?" costs O(depth)
 * instead of a scan of the batch: with tens of thousands of operations in flight, every change
 * that arrives meanwhile asks it.
 */
export class InFlight {
  /** Every op's path and each directory above it. */
  private readonly onPath = new Set<RelPath>();
  /** Paths of ops that carry their whole subtree (all but single-entry syncs). */
  private readonly subtrees = new Set<RelPath>();

  constructor(readonly ops: readonly PathOp[] = []) {
    for (const op of ops) {
      if (op.kind !== 'sync') this.mark(op.path);
      else this.markPath(op.path);
      // A move reads its basis on the replica: nothing may change it until the move has landed.
      if (op.kind === 'move') this.mark(op.from);
    }
  }

  private mark(subtree: RelPath): void {
    this.subtrees.add(subtree);
    this.markPath(subtree);
  }

  private markPath(path: RelPath): void {
    for (let p = path; ; p = parentOf(p)) {
      if (this.onPath.has(p)) break;
      this.onPath.add(p);
      if (p === '') break;
    }
  }

  /**
   * Whether running the batch may create `path` on the replica: an op on the path itself or below
   * it (`-R` creates a file's directories; a removal's include chain sends what exists), or an op
   * above it that carries its whole subtree.
   */
  carries(path: RelPath): boolean {
    if (this.onPath.has(path)) return true;
    if (this.subtrees.size === 0) return false;
    for (let p = path; ; p = parentOf(p)) {
      if (this.subtrees.has(p)) return true;
      if (p === '') return false;
    }
  }
}
