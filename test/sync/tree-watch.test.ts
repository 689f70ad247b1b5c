/**
 * A tree's watch through the real replicator, watcher and rsync to a local replica: a watcher
 * whose read fails is replaced and the tree resynced, and status and /metrics say so; an overflow
 * is counted against the plugin that never hears of what it lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMetrics } from '../../src/daemon/metrics.js';
import { buildStatus } from '../../src/daemon/status.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMemoryWorkStore } from '../helpers/memory-store.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { Replicator } from '../../src/sync/replicator.js';
import { createWatcher, simulateReadError, type Watcher } from '../../src/watch/index.js';
import type { WatchEvent } from '../../src/watch/types.js';
import { PluginFeed } from '../../src/plugins/feed.js';
import { PluginCounters } from '../../src/plugins/stats.js';
import { testConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';
import { inputs } from '../daemon/status-fixture.js';

test('a watcher whose read fails is replaced, the tree resynced, and status counts the restart', async () => {
  const src = await tempDir();
  const dst = await tempDir();
  const config = testConfig([
    { watch: src.path, remotes: [{ id: 'local', target: { kind: 'local', path: dst.path } }] },
  ]);
  const watchers: Watcher[] = [];
  const pool = new RsyncPool(2);
  const replicator = new Replicator({
    config,
    store: createMemoryWorkStore(),
    pool,
    log: silentLogger,
    plugin: null,
    createWatcher: (opts) => {
      const w = createWatcher('inotify', opts);
      watchers.push(w);
      return w;
    },
  });
  try {
    await replicator.start({ fullSync: false });
    const [first] = watchers;
    assert.ok(first !== undefined);
    simulateReadError(first, Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
    writeFileSync(join(src.path, 'while-restarting.txt'), 'no event may come for this one');
    await eventually(
      () => watchers.length === 2 && replicator.status()[0]?.watching === true,
      10_000,
      'a new watcher',
    );
    const [tree] = replicator.status();
    assert.ok(tree !== undefined);
    assert.equal(tree.watcherRestarts, 1);
    assert.match(tree.lastWatcherRestart?.reason ?? '', /EIO/);
    const metrics = renderMetrics(buildStatus(inputs({ trees: replicator.status(), retries: [] })));
    assert.match(metrics, new RegExp(`sersync_watcher_restarts_total\\{root="${src.path}"\\} 1`));
    writeFileSync(join(src.path, 'after.txt'), 'seen by the new watcher');
    await eventually(
      () => existsSync(join(dst.path, 'after.txt')) && existsSync(join(dst.path, 'while-restarting.txt')),
      10_000,
      'both files on the replica',
    );
  } finally {
    await replicator.stop();
    await pool.close();
    await src.remove();
    await dst.remove();
  }
});

test('an overflow in a tree that tells a plugin is counted as events the plugin missed; the replica still converges', async () => {
  const src = await tempDir();
  const dst = await tempDir();
  const config = testConfig([
    { watch: src.path, remotes: [{ id: 'local', target: { kind: 'local', path: dst.path } }] },
  ]);
  const told: string[] = [];
  const feed = new PluginFeed({
    name: 'command',
    handle: (ev) => {
      told.push(ev.path);
      return Promise.resolve();
    },
    stats: () => new PluginCounters().snapshot(),
    close: () => Promise.resolve(),
  });
  const watcher: { deliver?: (events: readonly WatchEvent[]) => void } = {};
  const pool = new RsyncPool(2);
  const replicator = new Replicator({
    config,
    store: createMemoryWorkStore(),
    pool,
    log: silentLogger,
    plugin: { feed, roots: new Set([src.path]) },
    createWatcher: (opts) => {
      watcher.deliver = opts.onEvents;
      return createWatcher('inotify', opts);
    },
  });
  try {
    await replicator.start({ fullSync: false });
    writeFileSync(join(src.path, 'seen.txt'), 'an event the plugin gets');
    await eventually(() => told.includes('seen.txt'), 10_000, 'the plugin told');
    assert.equal(feed.report().overflows, 0);
    // as the watcher reports IN_Q_OVERFLOW (the file's own event comes too: this counts, not loses)
    writeFileSync(join(src.path, 'lost.txt'), 'written as the kernel overflows');
    assert.ok(watcher.deliver !== undefined);
    watcher.deliver([{ type: 'overflow' }]);
    assert.equal(feed.report().overflows, 1);
    await eventually(() => existsSync(join(dst.path, 'lost.txt')), 10_000, 'lost.txt on the replica');
  } finally {
    await replicator.stop();
    await pool.close();
    await src.remove();
    await dst.remove();
  }
});
