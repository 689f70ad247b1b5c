/**
 * Work that failed because rsync could not be started (not installed, out of descriptors or
 * processes) waits at its back-off only until a run starts again: then it goes at once, and the
 * pool's report of the fault ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import { CANNOT_RUN } from '../../src/sync/exit-codes.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { notRun, type RsyncResult } from '../../src/sync/task.js';
import { testReplicator, withQueueRig } from '../helpers/lane.js';
import { capturedLog } from '../helpers/log-lines.js';
import { eventually } from '../helpers/trees.js';

/** A pool whose first `refusals` runs cannot start rsync, as when the process is out of descriptors. */
class RefusingPool extends RsyncPool {
  constructor(private refusals: number) {
    super(2);
  }

  protected override dispatch(...args: Parameters<RsyncPool['run']>): Promise<RsyncResult> {
    if (this.refusals-- > 0)
      return Promise.resolve(
        notRun(
          CANNOT_RUN,
          'cannot run rsync: sersync2 has as many files open as its limit allows (EMFILE)',
          0,
        ),
      );
    return super.dispatch(...args);
  }
}

test('rows that failed because rsync could not start go as soon as a run starts again, not at their back-off', async () => {
  await withQueueRig(2, async ({ daemon, src, state, config }) => {
    const store = openWorkStore(join(state, 'queue.db'));
    const { log, said } = capturedLog();
    const pool = new RefusingPool(1);
    const replicator = testReplicator({
      config,
      store,
      pool,
      log,
    });
    try {
      await replicator.start({ fullSync: false });
      writeFileSync(join(src, 'waited.txt'), 'its run could not start');
      let due = 0;
      await eventually(
        () => store.list().some((r) => r.exitCode === CANNOT_RUN && (due = r.nextAttemptAt ?? 0) > 0),
        10_000,
        'the refused run queued with its back-off',
      );
      assert.notEqual(pool.cannotStart, null, 'the pool reports the fault');
      writeFileSync(join(src, 'later.txt'), 'its run starts');
      await eventually(
        () => existsSync(join(daemon.dir, 'later.txt')) && existsSync(join(daemon.dir, 'waited.txt')),
        Math.max(0, due - Date.now() - 1000),
        'the waiting row sent with the next run that started, before its back-off ended',
      );
      assert.equal(pool.cannotStart, null, 'the fault ends with a run that starts');
      assert.ok(said('rsync starts again: sending what waited for it') > 0);
    } finally {
      await replicator.stop();
      await pool.close();
      store.close();
    }
  });
});
