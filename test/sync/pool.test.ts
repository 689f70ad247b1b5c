import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import {
  classifyExit,
  REPLICA_UNMOUNTED,
  SOURCE_UNUSABLE,
  THREAD_FAILED,
} from '../../src/sync/exit-codes.js';
import { RsyncPool } from '../../src/sync/pool.js';
import type { RsyncTask } from '../../src/sync/task.js';
import { tempDir } from '../helpers/tmp.js';

/** An empty tree and replica in a fresh directory, removed after the test. */
async function treeAndReplica(t: TestContext): Promise<{ root: string; replica: string }> {
  const work = await tempDir();
  t.after(work.remove);
  const root = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  mkdirSync(root);
  mkdirSync(replica);
  return { root, replica };
}

test('pool: ready() answers true once the rsync thread has booted', async (t) => {
  const pool = new RsyncPool(2);
  t.after(() => pool.close());
  assert.equal(await pool.ready(10_000), true);
  assert.equal(pool.started, 0, 'the ping is not an rsync run');
});

test('pool: ready() answers false when the thread has not booted within its limit, and the pool still starts', async (t) => {
  const pool = new RsyncPool(1);
  t.after(() => pool.close());
  // A thread takes tens of milliseconds to boot; a limit of 0 ms ends first.
  assert.equal(await pool.ready(0), false);
  assert.equal(await pool.ready(10_000), true);
});

test('pool: a task its thread fails on is a failed run with the reason, retried as any other, and the pool goes on', async (t) => {
  const { root, replica } = await treeAndReplica(t);
  writeFileSync(join(root, 'a'), 'a');
  const pool = new RsyncPool(1);
  t.after(() => pool.close());
  const send: RsyncTask = {
    kind: 'send',
    cwd: root,
    args: ['-a', '--files-from=-', '--from0', './', replica],
    input: { kind: 'files', paths: ['a'], trees: [], sentAs: new Map() },
    // An exclude the worker cannot compile makes it throw before rsync starts.
    filter: { excludes: [{ source: '(', flags: '' }], ignoreDotFiles: false, own: [] },
    stallS: null,
    access: { reads: [replica], writes: [replica] },
  };
  const failed = await pool.run(send);
  assert.equal(failed.exitCode, THREAD_FAILED);
  assert.match(failed.stderr, /^sersync2 could not run rsync: Invalid regular expression/);
  assert.equal(classifyExit(failed.exitCode, failed.stderr), 'retry');
  const sent = await pool.run({ ...send, filter: { excludes: [], ignoreDotFiles: false, own: [] } });
  assert.equal(sent.exitCode, 0, sent.stderr);
  assert.equal(readFileSync(join(replica, 'a'), 'utf8'), 'a');
});

test(
  'pool: a full sync that is not run (its replica disk away, its root unusable) ends with its reason and its progress track, not waiting for ever',
  { timeout: 20_000 },
  async (t) => {
    const { root, replica } = await treeAndReplica(t);
    const ended: string[] = [];
    const pool = new RsyncPool(1, {
      begin: (subject) => ({ update: () => undefined, end: () => ended.push(subject.remote) }),
    });
    t.after(() => pool.close());
    const full: RsyncTask = {
      kind: 'full',
      cwd: root,
      args: ['-a', './', `${replica}/`],
      input: null,
      filter: { excludes: [], ignoreDotFiles: false, own: [] },
      stallS: null,
      access: { reads: [replica], writes: [replica] },
    };
    // recorded on a file system mounted below the replica's place: that mount is gone now
    const away = {
      ...full,
      access: { ...full.access, replica: { path: replica, mount: join(replica, 'disk'), fstab: false } },
    };
    const unmounted = await pool.run(away, { root, remote: 'away' });
    assert.equal(unmounted.exitCode, REPLICA_UNMOUNTED);
    assert.match(unmounted.stderr, /is not mounted now/);
    const gone = await pool.run({ ...full, cwd: join(root, 'gone') }, { root, remote: 'gone' });
    assert.equal(gone.exitCode, SOURCE_UNUSABLE, gone.stderr);
    assert.deepEqual(ended, ['away', 'gone']);
    const made = await pool.run(full, { root, remote: 'made' });
    assert.equal(made.exitCode, 0, made.stderr);
  },
);
