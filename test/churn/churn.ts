/**
 * Random churn in the style of lsyncd's churn-rsync test: seeded random operations on a live
 * tree (create, append, same-size rewrite, `sed -i`, mkdir -p, mv of files and directories, rm,
 * rm -r), then the replica must equal the source. The seed is printed so a failure reproduces.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prng } from '../helpers/prng.js';

const NAMES = ['a', 'b', 'c', 'data', 'img', 'x y', "it's", '-dash', '#hash', 'ünï', 'q"t', 'n\nl'];

export interface ChurnStats {
  readonly ops: number;
  readonly byKind: Readonly<Record<string, number>>;
}

/** Applies `ops` random operations below `root` (which exists). */
export function churn(root: string, ops: number, seed: number): ChurnStats {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rnd() * xs.length)];
  const dirs: string[] = [''];
  const files: string[] = [];
  const byKind: Record<string, number> = {};
  let serial = 0;
  const fresh = (): string => `${pick(NAMES) ?? 'f'}${serial++}`;
  const abs = (rel: string): string => join(root, rel);
  const under = (rel: string, dir: string): boolean => rel === dir || rel.startsWith(`${dir}/`);
  for (let i = 0; i < ops; i++) {
    const r = rnd();
    const dir = pick(dirs) ?? '';
    const file = pick(files);
    let kind: string;
    if (r < 0.3 || file === undefined) {
      kind = 'create';
      const rel = join(dir, fresh());
      writeFileSync(abs(rel), 'x'.repeat(Math.floor(rnd() * 2000)));
      files.push(rel);
    } else if (r < 0.42) {
      kind = 'append';
      appendFileSync(abs(file), `more ${i}\n`);
    } else if (r < 0.5) {
      kind = 'rewrite-same-size';
      writeFileSync(abs(file), Buffer.from(String(i).padEnd(8, '.')));
    } else if (r < 0.54) {
      kind = 'sed-i';
      spawnSync('sed', ['-i', 's/x/y/', abs(file)]);
    } else if (r < 0.64) {
      kind = 'mkdir-p';
      const rel = join(dir, fresh(), fresh());
      mkdirSync(abs(rel), { recursive: true });
      dirs.push(join(rel, '..'), rel);
    } else if (r < 0.74) {
      kind = 'mv-file';
      const to = join(dir, fresh());
      renameSync(abs(file), abs(to));
      files.splice(files.indexOf(file), 1, to);
    } else if (r < 0.8 && dir !== '') {
      kind = 'mv-dir';
      const target = pick(dirs.filter((d) => !under(d, dir))) ?? '';
      const to = join(target, fresh());
      renameSync(abs(dir), abs(to));
      const move = (p: string): string => (under(p, dir) ? to + p.slice(dir.length) : p);
      dirs.splice(0, dirs.length, ...dirs.map(move));
      files.splice(0, files.length, ...files.map(move));
    } else if (r < 0.95) {
      kind = 'rm';
      unlinkSync(abs(file));
      files.splice(files.indexOf(file), 1);
    } else if (dir !== '') {
      kind = 'rm-r';
      rmSync(abs(dir), { recursive: true });
      const keep = (p: string): boolean => !under(p, dir);
      const keptDirs = dirs.filter(keep);
      const keptFiles = files.filter(keep);
      dirs.splice(0, dirs.length, ...keptDirs);
      files.splice(0, files.length, ...keptFiles);
    } else {
      kind = 'noop';
    }
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  }
  return { ops, byKind };
}
