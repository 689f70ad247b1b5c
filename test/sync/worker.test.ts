import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RsyncTask } from '../../src/sync/task.js';
import runRsync from '../../workers/rsync.js';
import { tempDir } from '../helpers/tmp.js';

test('worker: a run from a watch root that is gone says so, not "spawn rsync ENOENT"', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const result = await runRsync({
    cwd: join(work.path, 'gone'),
    args: ['-r', '--delete', '--include-from=-', '--exclude=*', './', join(work.path, 'replica')],
    input: { kind: 'rules', rules: ['+ /f'] },
    filter: noFilter,
  });
  assert.equal(result.exitCode, -1);
  assert.equal(
    result.stderr,
    `cannot run rsync: the watched directory ${join(work.path, 'gone')} no longer exists`,
  );
});

const noFilter = { excludes: [], builtinTemp: true, ignoreDotFiles: false };

/** A tree with `old/` on the replica and the same directory renamed `new` at the source. */
async function renamedTree(t: {
  after: (fn: () => Promise<void>) => void;
}): Promise<{ root: string; replica: string; outside: string }> {
  const work = await tempDir();
  t.after(work.remove);
  const root = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  const outside = join(work.path, 'outside');
  for (const d of [join(root, 'new'), join(replica, 'old'), join(outside, 'new')])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(root, 'new', 'f.txt'), 'in the tree');
  writeFileSync(join(outside, 'new', 'secret.txt'), 'outside the tree');
  assert.equal(spawnSync('cp', ['-a', join(root, 'new', 'f.txt'), join(replica, 'old', 'f.txt')]).status, 0);
  return { root, replica, outside };
}

const moveTask = (root: string, replica: string, dir: string): RsyncTask => ({
  cwd: root,
  dir,
  args: ['-a', '-r', '--link-dest=../old', './', `${replica}/${dir}/`],
  input: null,
  filter: noFilter,
});

test('worker: a run inside a directory starts there: the renamed directory is rebuilt from its old copy', async (t) => {
  const { root, replica } = await renamedTree(t);
  const result = await runRsync(moveTask(root, replica, 'new'));
  assert.equal(result.exitCode, 0, result.stderr);
  assert.equal(result.filesSent, 0);
  assert.equal(statSync(join(replica, 'new', 'f.txt')).ino, statSync(join(replica, 'old', 'f.txt')).ino);
});

test('worker: a directory swapped for a symlink (or below one) before its run is never entered', async (t) => {
  const { root, replica, outside } = await renamedTree(t);
  renameSync(join(root, 'new'), join(root, 'moved'));
  symlinkSync(join(outside, 'new'), join(root, 'new'));
  symlinkSync(outside, join(root, 'p'));
  for (const dir of ['new', 'p/new']) {
    const result = await runRsync(moveTask(root, replica, dir));
    assert.equal(result.exitCode, 3, "rsync's code for a source it cannot use");
    assert.match(result.stderr, /^rsync not run: .*new is no longer a directory of the tree/);
  }
  assert.deepEqual(readdirSync(replica), ['old']);
});
