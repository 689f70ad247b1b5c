/**
 * A stop while the tree's watch cannot account for what changed (its watcher failed and the new
 * one is not watching yet) queues a full sync of that tree: the next start sends it, and only it,
 * instead of recording a clean stop that forgets the change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import { Replicator } from '../../src/sync/replicator.js';
import { createWatcher, simulateReadError, type Watcher } from '../../src/watch/index.js';
import type { WatcherOptions } from '../../src/watch/types.js';
import { testReplicator, withQueueRig } from '../helpers/lane.js';
import { capturedLog } from '../helpers/log-lines.js';
import { overriding } from '../helpers/watcher.js';
import { eventually } from '../helpers/trees.js';

/** A real inotify watcher whose start waits for `gate`: a replacement still setting its watches. */
function slowToStart(opts: WatcherOptions, gate: Promise<void>): Watcher {
  const watcher = createWatcher('inotify', opts);
  return overriding(watcher, {
    start: async () => {
      await gate;
      return watcher.start();
    },
  });
}

test('a stop while the watcher is being replaced queues a full sync of the tree; the next start sends it, with no resync of every tree', async () => {
  await withQueueRig(2, async ({ daemon, pool, src, state, config }) => {
    const file = join(state, 'queue.db');
    const { log, lines, said } = capturedLog();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const watchers: Watcher[] = [];
    let store = openWorkStore(file);
    const first = new Replicator({
      config,
      store,
      pool,
      log,
      plugin: null,
      createWatcher: (opts) => {
        const watcher = watchers.length === 0 ? createWatcher('inotify', opts) : slowToStart(opts, gate);
        watchers.push(watcher);
        return watcher;
      },
    });
    await first.start({ fullSync: false });
    const [watcher] = watchers;
    assert.ok(watcher !== undefined);
    simulateReadError(watcher, Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    await eventually(
      () => watchers.length === 2 && first.status()[0]?.degraded.includes('watcher-restarting') === true,
      10_000,
      'the replacement watcher started',
    );
    writeFileSync(join(src, 'while-replaced.txt'), 'no watch saw this one');
    const stopping = first.stop();
    open();
    await stopping;
    const rows = store.list();
    assert.deepEqual(
      rows.map((r) => r.op.kind),
      ['full'],
      'a full sync of the tree queued at the stop',
    );
    assert.ok(said('cannot vouch for every change made before the stop') > 0, 'the stop says why');
    assert.ok(!existsSync(join(daemon.dir, 'while-replaced.txt')), 'not sent before the stop');

    store.close();
    store = openWorkStore(file);
    lines.length = 0;
    const next = testReplicator({
      config,
      store,
      pool,
      log,
    });
    try {
      await next.start({ fullSync: false });
      await eventually(
        () => existsSync(join(daemon.dir, 'while-replaced.txt')) && store.list().length === 0,
        10_000,
        'the queued full sync sent',
      );
      assert.equal(said('did not stop cleanly'), 0, 'the stop was clean');
    } finally {
      await next.stop();
      store.close();
    }
  });
});

test('a stop whose drain could not finish (its bound passed, a read failed) queues a full sync of the tree', async () => {
  await withQueueRig(2, async ({ pool, state, config }) => {
    const store = openWorkStore(join(state, 'queue.db'));
    const { log, said } = capturedLog();
    const replicator = new Replicator({
      config,
      store,
      pool,
      log,
      plugin: null,
      // as when MAX_DRAIN_MS passed
      createWatcher: (opts) =>
        overriding(createWatcher('inotify', opts), { drain: () => Promise.resolve(false) }),
    });
    try {
      await replicator.start({ fullSync: false });
      await replicator.stop();
      assert.deepEqual(
        store.list().map((r) => r.op.kind),
        ['full'],
        'a full sync of the tree queued at the stop',
      );
      assert.ok(said('cannot vouch for every change made before the stop') > 0);
    } finally {
      store.close();
    }
  });
});
