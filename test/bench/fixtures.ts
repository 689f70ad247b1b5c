import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TreeShape } from './sizes.js';

/** `i` as a fixed-width decimal, so names sort in creation order. */
export function pad(i: number, width: number): string {
  return String(i).padStart(width, '0');
}

/**
 * Writes `shape.files` files of random content (no two alike, so rsync cannot match one against
 * another) spread evenly over `shape.dirs` directories `d0000…` below `root` (or into `root` when
 * there are none). Returns the directories made, relative to `root`.
 */
export function writeTree(root: string, shape: Omit<TreeShape, 'label'>): string[] {
  mkdirSync(root, { recursive: true });
  const dirs = Array.from({ length: shape.dirs }, (_, i) => `d${pad(i, 5)}`);
  for (const d of dirs) mkdirSync(join(root, d));
  const empty = Buffer.alloc(0);
  for (let i = 0; i < shape.files; i++) {
    const dir = dirs.length === 0 ? '' : (dirs[i % dirs.length] ?? '');
    writeFileSync(
      join(root, dir, `f${pad(i, 7)}.dat`),
      shape.fileBytes > 0 ? randomBytes(shape.fileBytes) : empty,
    );
  }
  return dirs;
}

/** Replaces `to` with a copy of `from` that keeps modes and times (`cp -a`), so rsync's quick check sees them equal. */
export function copyTree(from: string, to: string): void {
  resetDir(to);
  const r = spawnSync('cp', ['-a', '--', `${from}/.`, to], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cp -a ${from} ${to}: ${r.stderr}`);
}

/** An empty directory at `dir`, whatever was there. */
export function resetDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

/** Directories (the root is '') and files below `root`, relative, for building on an existing tree. */
export function listTree(root: string): { dirs: string[]; files: string[] } {
  const dirs = [''];
  const files: string[] = [];
  for (let i = 0; i < dirs.length; i++) {
    const rel = dirs[i] ?? '';
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      (e.isDirectory() ? dirs : files).push(path);
    }
  }
  return { dirs, files };
}
