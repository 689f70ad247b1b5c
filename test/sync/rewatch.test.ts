/**
 * A watcher that failed, whose replacement cannot start for a while (the user's inotify instances
 * used up, say): tried again at each look, said once, and once it starts the tree is resynced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import { Replicator } from '../../src/sync/replicator.js';
import { createWatcher, simulateReadError, type Watcher } from '../../src/watch/index.js';
import { withQueueRig } from '../helpers/lane.js';
import { capturedLog } from '../helpers/log-lines.js';
import { overriding } from '../helpers/watcher.js';
import { eventually } from '../helpers/trees.js';

test('a replacement watcher that cannot start is tried again at each look, said once, and the tree resynced once it starts', async () => {
  await withQueueRig(2, async ({ daemon, pool, src, state, config }) => {
    const store = openWorkStore(join(state, 'queue.db'));
    const { log, said } = capturedLog();
    const watchers: Watcher[] = [];
    let refusals = 0;
    let refusing = true;
    const replicator = new Replicator({
      config,
      store,
      pool,
      log,
      plugin: null,
      rootPollMs: 20,
      createWatcher: (opts) => {
        const watcher = createWatcher('inotify', opts);
        watchers.push(watcher);
        if (watchers.length === 1) return watcher;
        return overriding(watcher, {
          start: () => {
            if (!refusing) return watcher.start();
            refusals++;
            return Promise.reject(new Error('cannot watch: fs.inotify.max_user_instances reached'));
          },
        });
      },
    });
    try {
      await replicator.start({ fullSync: false });
      const [first] = watchers;
      assert.ok(first !== undefined);
      simulateReadError(first, Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
      writeFileSync(join(src, 'while-unwatched.txt'), 'no watcher saw this one');
      await eventually(() => refusals >= 5, 10_000, 'five refusals of the replacement');
      // status says so while it lasts: the tree is not watched, its watcher restarting
      const [tree] = replicator.status();
      assert.ok(tree !== undefined);
      assert.equal(tree.watching, false);
      assert.ok(tree.degraded.includes('watcher-restarting'), `degraded: ${tree.degraded.join(', ')}`);
      refusing = false;
      await eventually(() => replicator.status()[0]?.watching === true, 10_000, 'the replacement started');
      await eventually(
        () => existsSync(join(daemon.dir, 'while-unwatched.txt')),
        10_000,
        'the tree resynced once watched again',
      );
      const times = said('cannot watch the directory again');
      assert.equal(times, 1, `said once over ${refusals} refusals: ${times}`);
      assert.deepEqual(replicator.status()[0]?.degraded, []);
    } finally {
      await replicator.stop();
      store.close();
    }
  });
});
