import { appendFileSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { prng } from '../helpers/prng.js';

/** One change to a tree; paths are relative to its root. */
export type ChurnOp =
  | { readonly kind: 'write'; readonly path: string; readonly bytes: number }
  | { readonly kind: 'append'; readonly path: string; readonly bytes: number }
  | { readonly kind: 'delete'; readonly path: string }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'mkdir'; readonly path: string }
  | { readonly kind: 'rmtree'; readonly path: string };

/** The directories (the root is '') and files of a tree. */
export interface TreeModel {
  readonly dirs: readonly string[];
  readonly files: readonly string[];
}

/** A set with O(1) random pick. */
class Bag {
  private readonly items: string[] = [];
  private readonly at = new Map<string, number>();

  constructor(items: Iterable<string>) {
    for (const i of items) this.add(i);
  }

  get size(): number {
    return this.items.length;
  }

  add(item: string): void {
    if (this.at.has(item)) return;
    this.at.set(item, this.items.length);
    this.items.push(item);
  }

  delete(item: string): void {
    const i = this.at.get(item);
    if (i === undefined) return;
    const last = this.items.pop() ?? item;
    this.at.delete(item);
    if (last !== item) {
      this.items[i] = last;
      this.at.set(last, i);
    }
  }

  pick(rand: () => number): string | undefined {
    return this.items[Math.floor(rand() * this.items.length)];
  }

  list(): string[] {
    return [...this.items];
  }
}

const under = (dir: string, p: string): boolean => dir === '' || p.startsWith(`${dir}/`);
const child = (dir: string, name: string): string => (dir === '' ? name : `${dir}/${name}`);

/**
 * `count` random but valid operations on a tree that starts as `start` (each one possible in the
 * state the ones before leave), and the tree they leave. Files are created, rewritten, appended,
 * deleted and renamed; directories made, renamed and removed with their contents. Pure.
 */
export function churnPlan(seed: number, count: number, start: TreeModel): { ops: ChurnOp[]; end: TreeModel } {
  const rand = prng(seed);
  const dirs = new Bag(start.dirs.includes('') ? start.dirs : ['', ...start.dirs]);
  const files = new Bag(start.files);
  const ops: ChurnOp[] = [];
  const size = (): number => Math.floor(rand() * 4096);
  const moveAll = (bag: Bag, from: string, to: string): void => {
    for (const p of bag.list()) {
      if (p !== from && !p.startsWith(`${from}/`)) continue;
      bag.delete(p);
      bag.add(to + p.slice(from.length));
    }
  };
  const initialFiles = Math.max(50, files.size);
  const filesUnder = (dir: string): number => files.list().filter((p) => under(dir, p)).length;
  while (ops.length < count) {
    const seq = ops.length;
    const r = rand() * 100;
    const file = files.pick(rand);
    const dir = dirs.pick(rand) ?? '';
    // the tree keeps about its size: below half of it, deletes become creates
    if (r < 25 || file === undefined || (files.size < initialFiles / 2 && r < 70)) {
      const path = child(dir, `n${seq}.dat`);
      files.add(path);
      ops.push({ kind: 'write', path, bytes: size() });
    } else if (r < 40) ops.push({ kind: 'write', path: file, bytes: size() });
    else if (r < 55) ops.push({ kind: 'append', path: file, bytes: size() });
    else if (r < 70) {
      files.delete(file);
      ops.push({ kind: 'delete', path: file });
    } else if (r < 82) {
      const to = child(dir, `r${seq}.dat`);
      files.delete(file);
      files.add(to);
      ops.push({ kind: 'rename', from: file, to });
    } else if (r < 90 || dirs.size < 4) {
      if (dir.split('/').length > 3) continue;
      const path = child(dir, `m${seq}`);
      dirs.add(path);
      ops.push({ kind: 'mkdir', path });
    } else if (r < 97) {
      if (dir === '') continue;
      const parent = dirs.pick(rand) ?? '';
      if (parent === dir || (parent !== '' && under(dir, parent))) continue;
      const to = child(parent, `m${seq}`);
      moveAll(dirs, dir, to);
      moveAll(files, dir, to);
      ops.push({ kind: 'rename', from: dir, to });
    } else {
      // small directories only: removing a seeded one would empty the tree in a few steps
      if (dir === '' || filesUnder(dir) > 20) continue;
      for (const p of dirs.list()) if (p === dir || under(dir, p)) dirs.delete(p);
      for (const p of files.list()) if (under(dir, p)) files.delete(p);
      ops.push({ kind: 'rmtree', path: dir });
    }
  }
  return { ops, end: { dirs: dirs.list(), files: files.list() } };
}

/** Carries out one operation under `root`. */
export function applyOp(root: string, op: ChurnOp): void {
  switch (op.kind) {
    case 'write':
      writeFileSync(join(root, op.path), randomBytes(op.bytes));
      return;
    case 'append':
      appendFileSync(join(root, op.path), randomBytes(op.bytes));
      return;
    case 'delete':
      unlinkSync(join(root, op.path));
      return;
    case 'rename':
      renameSync(join(root, op.from), join(root, op.to));
      return;
    case 'mkdir':
      mkdirSync(join(root, op.path));
      return;
    case 'rmtree':
      rmSync(join(root, op.path), { recursive: true });
      return;
  }
}

/** Carries out `ops` spread evenly over `overMs` (all at once for 0); resolves after the last. */
export async function applyPaced(root: string, ops: readonly ChurnOp[], overMs: number): Promise<void> {
  const start = performance.now();
  for (const [i, op] of ops.entries()) {
    const due = start + (i / ops.length) * overMs;
    const ahead = due - performance.now();
    if (ahead >= 10) await new Promise((r) => setTimeout(r, ahead));
    applyOp(root, op);
  }
}
