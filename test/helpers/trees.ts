import { spawnSync } from 'node:child_process';
import { utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One file alike in each of `dirs`: the same content and the same mtime, as rsync's quick check
 * compares them (two writes a moment apart can fall in two seconds).
 */
export function writeAlike(dirs: readonly string[], name: string, content: string): void {
  const written = new Date('2026-01-01T00:00:00Z');
  for (const dir of dirs) {
    writeFileSync(join(dir, name), content);
    utimesSync(join(dir, name), written, written);
  }
}

/**
 * Differences between two trees as `diff -r` reports them ('' when equal): contents, names,
 * types. Byte-exact, names included, whatever their encoding.
 */
export function treeDiff(a: string, b: string, excludes: readonly string[] = []): string {
  const r = spawnSync('diff', ['-r', '--no-dereference', ...excludes.map((e) => `--exclude=${e}`), a, b], {
    encoding: 'latin1',
  });
  if (r.status !== 0 && r.status !== 1) {
    // a file that vanished mid-walk (rsync's temp file renamed into place) is a tree still changing
    const err = new Error(`diff failed: ${r.stderr}`) as NodeJS.ErrnoException;
    if (r.stderr.includes('No such file or directory')) err.code = 'ENOENT';
    throw err;
  }
  return r.stdout;
}

/** Polls `cond` until it holds or `ms` pass; for outcomes that have no event to await (a remote replica). */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    let vanished: Error | undefined;
    try {
      if (await cond()) return;
    } catch (err) {
      // a tree read while rsync renames its temp file into place: not yet, unless it lasts
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      vanished = err as Error;
    }
    if (Date.now() > deadline) {
      if (vanished !== undefined) throw vanished;
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
