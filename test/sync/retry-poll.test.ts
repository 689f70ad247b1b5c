/**
 * The replicator's look at the retry queue: rows of a remote the config no longer has (a reload
 * removed it) are left to `sersync2 queue`, and do not keep the look due again at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/log/logger.js';
import type { LaneId } from '../../src/queue/types.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { Replicator } from '../../src/sync/replicator.js';
import { createWatcher } from '../../src/watch/index.js';
import { testConfig } from '../helpers/config.js';
import { createMemoryWorkStore } from '../helpers/memory-store.js';
import { tempDir } from '../helpers/tmp.js';

test('rows of a remote no longer in the config are not polled in a loop, nor restored to a lane', async () => {
  const src = await tempDir();
  const dst = await tempDir();
  const store = createMemoryWorkStore();
  // Failed long ago for a remote the config no longer has: due now, and for ever.
  const batch = store.begin('gone::module', src.path, [{ kind: 'sync', path: 'old.txt' }]);
  store.fail(batch, { exitCode: 10, message: 'down' }, Date.now() - 3_600_000);
  let looks = 0;
  const counted = {
    ...store,
    nextDueAt: (lanes?: readonly LaneId[]) => {
      looks++;
      return store.nextDueAt(lanes);
    },
  };
  const pool = new RsyncPool(1);
  const replicator = new Replicator({
    config: testConfig([
      { watch: src.path, remotes: [{ id: 'local', target: { kind: 'local', path: dst.path } }] },
    ]),
    store: counted,
    pool,
    log: silentLogger,
    plugin: null,
    createWatcher: (opts) => createWatcher('inotify', opts),
    retryPollMs: 200,
  });
  try {
    await replicator.start({ fullSync: false });
    const before = looks;
    // A window of 5 polls: a look kept due by the orphaned row would come every 10 ms (~100 looks).
    await sleep(1000);
    assert.ok(looks - before <= 7, `${looks - before} looks at the queue in 1 s`);
    assert.deepEqual(
      store.due(Date.now(), 10).map((r) => r.remoteId),
      ['gone::module'],
      'left queued',
    );
    assert.deepEqual(
      replicator.status()[0]?.lanes.map((l) => l.pending),
      [0],
      'not restored to a lane',
    );
  } finally {
    await replicator.stop();
    await pool.close();
    await src.remove();
    await dst.remove();
  }
});
