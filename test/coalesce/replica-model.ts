/**
 * A model of the source and the replica for the coalescer's property tests. rsync's semantics are
 * modelled, not copied from the code: a send of `d/x` with `-R` creates `d` on the replica (so does
 * a removal's include chain); a removal, a move and a full sync mirror what is there when rsync
 * looks; a tree send adds and updates, removing nothing; a send of a missing path does nothing.
 */
import type { PathOp } from '../../src/coalesce/types.js';
import { isWithin, parentOf } from '../../src/paths.js';

/** path → content version ('dir' for a directory). */
export type Tree = Map<string, number | 'dir'>;

/** The paths of `t` at or below `p`. */
export const under = (t: Tree, p: string): string[] => [...t.keys()].filter((k) => isWithin(k, p));

/** A tree's entries in path order, for comparing two trees. */
export const sorted = (t: Tree): [string, number | 'dir'][] => [...t].sort(([a], [b]) => a.localeCompare(b));

/** What running one operation does to the replica, given the source as it is while it runs. */
export function runOp(op: PathOp, src: Tree, rep: Tree): void {
  for (let p = parentOf(op.path); p !== ''; p = parentOf(p)) if (src.has(p)) rep.set(p, 'dir');
  const mirror = (p: string, remove: boolean): void => {
    if (remove) for (const k of under(rep, p)) if (!src.has(k)) rep.delete(k);
    for (const k of under(src, p)) rep.set(k, src.get(k) ?? 0);
  };
  switch (op.kind) {
    case 'delete':
    case 'move':
    case 'full':
      return mirror(op.path, true);
    case 'tree':
      return mirror(op.path, false);
    case 'sync': {
      const v = src.get(op.path);
      if (v !== undefined) rep.set(op.path, v); // vanished: nothing sent
    }
  }
}
