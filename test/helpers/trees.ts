import { spawnSync } from 'node:child_process';

/**
 * Differences between two trees as `diff -r` reports them ('' when equal): contents, names,
 * types. Byte-exact, names included, whatever their encoding.
 */
export function treeDiff(a: string, b: string, excludes: readonly string[] = []): string {
  const r = spawnSync('diff', ['-r', '--no-dereference', ...excludes.map((e) => `--exclude=${e}`), a, b], {
    encoding: 'latin1',
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`diff failed: ${r.stderr}`);
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
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
