/**
 * A workload in its own process, so the writes race the replicator for real:
 *   node writer.js burst ROOT DIRS FILES_PER_DIR   — new directories full of small files
 *   node writer.js churn ROOT OPS SEED              — seeded random creates, rewrites, renames, deletes
 *   node writer.js renames ROOT OPS SEED            — directories renamed among a few names (and into each
 *                                                     other), written into, created and removed, paced 5 ms
 *   node writer.js flicker ROOT FILES SEED          — files (up to 2 MB) removed, truncated or replaced
 *                                                     right after they were written, while rsync reads them
 * It prints `progress N` after every tenth of its work, so a test can strike at a chosen moment.
 */
import { appendFileSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../../helpers/prng.js';

function progress(done: number, total: number): void {
  const step = Math.max(1, Math.floor(total / 10));
  if (done % step === 0) process.stdout.write(`progress ${done / step}\n`);
}

function burst(root: string, dirs: number, perDir: number): void {
  const total = dirs * perDir;
  let done = 0;
  for (let d = 0; d < dirs; d++) {
    const dir = join(root, `burst${Date.now().toString(36)}-${d}`);
    mkdirSync(dir);
    for (let f = 0; f < perDir; f++) {
      writeFileSync(join(dir, `f${f}`), `file ${d}/${f} `.repeat(1 + (f % 7)));
      progress(++done, total);
    }
  }
}

/** Random operations on a small tree (a few dozen directories), so it stays bounded however long it runs. */
function churn(root: string, ops: number, seed: number): void {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
  const entries = (dir: string): { files: string[]; dirs: string[] } => {
    const files: string[] = [];
    const dirs: string[] = [dir];
    for (const d of dirs) {
      if (dirs.length > 40) break;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        (e.isDirectory() ? dirs : files).push(join(d, e.name));
      }
    }
    return { files, dirs };
  };
  for (let i = 0; i < ops; i++) {
    const { files, dirs } = entries(root);
    const dir = pick(dirs) ?? root;
    const file = pick(files);
    const r = rnd();
    try {
      if (r < 0.35 || file === undefined)
        writeFileSync(join(dir, `n${seed}-${i}`), 'c'.repeat(Math.floor(rnd() * 3000)));
      else if (r < 0.5) appendFileSync(file, `more ${i}\n`);
      else if (r < 0.6)
        writeFileSync(file, String(i).padEnd(statSync(file).size, '.')); // same size, new bytes
      else if (r < 0.7) renameSync(file, join(dir, `m${seed}-${i}`));
      else if (r < 0.8) rmSync(file);
      else if (r < 0.88 && dirs.length < 30) mkdirSync(join(dir, `d${seed}-${i}`));
      else if (r < 0.94 && dir !== root) renameSync(dir, join(root, `r${seed}-${i}`));
      else if (dir !== root) rmSync(dir, { recursive: true });
    } catch (err) {
      // a rename into its own subtree and the like: skip the operation, the tree is still valid
      if (!(err instanceof Error && 'code' in err && err.code === 'EINVAL')) throw err;
    }
    progress(i + 1, ops);
  }
}

/**
 * Directory renames racing the replicator: a handful of names, so a name comes back after it was
 * renamed away, and a rename often follows a write inside the directory (the stale-directory
 * trace of a remote down during churn). Paced, so that batches and retries land in between.
 */
function renames(root: string, ops: number, seed: number): void {
  const rnd = prng(seed);
  const names = ['a', 'b', 'c', 'd', 'e', 'a/x', 'b/y', 'c/z'];
  const pace = new Int32Array(new SharedArrayBuffer(4));
  const isDir = (p: string): boolean => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  for (let i = 0; i < ops; i++) {
    const present = names.filter((n) => isDir(join(root, n)));
    const free = names.filter((n) => !isDir(join(root, n)));
    const dir = present[Math.floor(rnd() * present.length)];
    const to = free[Math.floor(rnd() * free.length)];
    const r = rnd();
    try {
      if (dir === undefined || (r < 0.15 && to !== undefined)) {
        mkdirSync(join(root, to ?? 'a'), { recursive: true });
        writeFileSync(join(root, to ?? 'a', `f${i}`), `new ${i}`);
      } else if (r < 0.5 && to !== undefined) renameSync(join(root, dir), join(root, to));
      else if (r < 0.9) writeFileSync(join(root, dir, `f${i % 5}`), `write ${i} `.repeat(1 + (i % 3)));
      else rmSync(join(root, dir), { recursive: true });
    } catch (err) {
      // a rename into its own subtree, a parent renamed away: skip it, the tree is still valid
      const code = err instanceof Error && 'code' in err ? err.code : null;
      if (code !== 'EINVAL' && code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
    Atomics.wait(pace, 0, 0, 5);
    progress(i + 1, ops);
  }
}

function flicker(root: string, files: number, seed: number): void {
  const rnd = prng(seed);
  for (let i = 0; i < files; i++) {
    const path = join(root, `v${i % 7}`);
    const big = Buffer.alloc(Math.floor(rnd() * 2_000_000)); // NULs: diff calls it binary, not a 2 MB line
    big.write(`version ${i}`);
    writeFileSync(path, big);
    const r = rnd();
    if (r < 0.3) rmSync(path);
    else if (r < 0.6) writeFileSync(path, `short ${i}`);
    else if (r < 0.8) {
      writeFileSync(`${path}.new`, `replacement ${i}`);
      renameSync(`${path}.new`, path);
    }
    progress(i + 1, files);
  }
}

const [mode, root, a, b] = process.argv.slice(2);
if (root === undefined || a === undefined || b === undefined)
  throw new Error('usage: writer burst|churn|renames|flicker ROOT N M');
if (mode === 'burst') burst(root, Number(a), Number(b));
else if (mode === 'churn') churn(root, Number(a), Number(b));
else if (mode === 'renames') renames(root, Number(a), Number(b));
else if (mode === 'flicker') flicker(root, Number(a), Number(b));
else throw new Error(`unknown mode ${String(mode)}`);
process.stdout.write('done\n');
