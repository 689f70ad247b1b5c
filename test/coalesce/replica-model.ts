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

/** The source as rsync lists it below `p` (`p` included), each entry a directory or a file. */
const listing = (src: Tree, p: string): [string, 'dir' | 'file'][] =>
  under(src, p).map((k) => [k, src.get(k) === 'dir' ? 'dir' : 'file']);

const parentsOn = (t: Tree, p: string): boolean => {
  for (let d = parentOf(p); d !== ''; d = parentOf(d)) if (t.get(d) !== 'dir') return false;
  return true;
};

/**
 * rsync's transfer of a listing: each directory made (gone from the source since or not: the
 * receiver makes what the list says), each file copied as the source has it now (vanished: skipped).
 */
function transfer(list: readonly [string, 'dir' | 'file'][], src: Tree, rep: Tree): void {
  for (const [k, t] of list) {
    if (!parentsOn(rep, k)) continue;
    const v = src.get(k);
    if (t === 'dir') rep.set(k, 'dir');
    else if (v !== undefined && v !== 'dir') rep.set(k, v);
  }
}

/**
 * The runs of one batch as the lane makes them, each in steps that other batches and new changes
 * may come between: a full sync (a mirror of the whole tree); the moves (a mirror of the new name, `--link-dest` the old; sent whole with
 * the sends when the new name or its parent on the replica is not there), then one removal run (a
 * mirror of each path whose parents the source still has), one that prunes the trees that ask for it
 * (the replica's entries below them that the source has not, removed), then one send run: our walk of the
 * sends and trees (`walked` is told what it listed, as the lane narrows the batch), rsync's own
 * listing of what is still there (the parents along, `-R`), and the transfer.
 */
export function batchSteps(
  ops: readonly PathOp[],
  src: Tree,
  rep: Tree,
  walked: (trees: string[], listed: string[]) => void,
  /** False runs no prune (to show what it is for). */
  prunes = true,
): (() => void)[] {
  const steps: (() => void)[] = [];
  const whole: PathOp[] = [];
  for (const m of ops) {
    if (m.kind !== 'move') continue;
    let list: [string, 'dir' | 'file'][] | null = null;
    steps.push(() => {
      if (src.get(m.path) === 'dir' && parentsOn(rep, m.path)) list = listing(src, m.path);
      else whole.push({ kind: 'tree', path: m.path });
    });
    steps.push(() => {
      if (list === null) return;
      const names = new Set(list.map(([k]) => k));
      for (const k of under(rep, m.path)) if (!names.has(k)) rep.delete(k);
      transfer(list, src, rep);
    });
  }
  if (ops.some((o) => o.kind === 'full')) {
    // the whole tree, `--delete`: a mirror of what rsync listed
    let list: [string, 'dir' | 'file'][] = [];
    steps.push(() => {
      list = listing(src, '');
    });
    steps.push(() => {
      const names = new Set(list.map(([k]) => k));
      for (const k of [...rep.keys()]) if (!names.has(k)) rep.delete(k);
      transfer(list, src, rep);
    });
  }
  const removals = ops.filter((o) => o.kind === 'delete').map((o) => o.path);
  if (removals.length > 0) {
    let lists: [string, [string, 'dir' | 'file'][]][] = [];
    steps.push(() => {
      // the include chain lists each parent, which the receiver makes
      const chain = (p: string): [string, 'dir'][] =>
        p === '' || parentOf(p) === '' ? [] : [...chain(parentOf(p)), [parentOf(p), 'dir']];
      lists = removals.filter((p) => parentsOn(src, p)).map((p) => [p, [...chain(p), ...listing(src, p)]]);
    });
    steps.push(() => {
      for (const [p, list] of lists) {
        const names = new Set(list.map(([k]) => k));
        for (const k of under(rep, p)) if (!names.has(k)) rep.delete(k);
        transfer(list, src, rep);
      }
    });
  }
  const pruned = [...ops, ...whole].flatMap((o) => (o.kind === 'tree' && o.prune === true ? [o.path] : []));
  if (prunes && pruned.length > 0) {
    // `--existing --ignore-existing`: only what the source no longer has goes, nothing is sent
    let lists: [string, Set<string>][] = [];
    steps.push(() => {
      // (a path whose parents the source lost is out of the include chain's reach)
      lists = pruned.filter((p) => parentsOn(src, p)).map((p) => [p, new Set(under(src, p))]);
    });
    steps.push(() => {
      for (const [p, kept] of lists) for (const k of under(rep, p)) if (!kept.has(k)) rep.delete(k);
    });
  }
  let ours: string[] | null = null;
  let theirs: [string, 'dir' | 'file'][] = [];
  steps.push(() => {
    const sends = [...ops, ...whole].filter((o) => o.kind === 'sync' || o.kind === 'tree');
    if (sends.length === 0) return;
    ours = sends.flatMap((o) => (o.kind === 'tree' ? under(src, o.path) : src.has(o.path) ? [o.path] : []));
    const trees = sends.filter((o) => o.kind === 'tree').map((o) => o.path);
    if (trees.length > 0) walked(trees, ours);
  });
  steps.push(() => {
    if (ours === null) return;
    const list = new Map<string, 'dir' | 'file'>();
    for (const p of ours) {
      const v = src.get(p);
      if (v === undefined) continue;
      for (let d = parentOf(p); d !== ''; d = parentOf(d)) list.set(d, 'dir');
      list.set(p, v === 'dir' ? 'dir' : 'file');
    }
    theirs = [...list].sort(([a], [b]) => a.split('/').length - b.split('/').length);
  });
  steps.push(() => {
    transfer(theirs, src, rep);
  });
  return steps;
}
