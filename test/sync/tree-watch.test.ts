/**
 * A tree's watch through the real replicator, watcher and rsync to a local replica: a watcher
 * whose read fails is replaced and the tree resynced, and status and /metrics say so; an overflow
 * is counted against the plugin that never hears of what it lost; a restart changes nothing in how
 * the mounts in the tree are judged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMetrics } from '../../src/daemon/metrics.js';
import { buildStatus } from '../../src/daemon/status.js';
import { silentLogger } from '../../src/log/logger.js';
import { createMemoryWorkStore } from '../helpers/memory-store.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { Replicator, type ReplicatorDeps } from '../../src/sync/replicator.js';
import { createWatcher, simulateReadError, type Watcher } from '../../src/watch/index.js';
import type { WatcherOptions } from '../../src/watch/types.js';
import { PluginFeed } from '../../src/plugins/feed.js';
import { PluginCounters } from '../../src/plugins/stats.js';
import { testConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';
import { inputs } from '../daemon/status-fixture.js';
import { mountUnavailable } from '../faults/cases/watch-health.js';

/**
 * A real replicator of a fresh tree to a local replica, with every watcher it makes (and the
 * options each was made with) kept for the test; stopped and removed after `body`.
 */
async function withReplicator(
  plugin: (src: string) => ReplicatorDeps['plugin'],
  body: (rig: {
    src: string;
    dst: string;
    replicator: Replicator;
    watchers: { readonly watcher: Watcher; readonly opts: WatcherOptions }[];
  }) => Promise<void>,
): Promise<void> {
  const src = await tempDir();
  const dst = await tempDir();
  const config = testConfig([
    { watch: src.path, remotes: [{ id: 'local', target: { kind: 'local', path: dst.path } }] },
  ]);
  const watchers: { readonly watcher: Watcher; readonly opts: WatcherOptions }[] = [];
  const pool = new RsyncPool(2);
  const replicator = new Replicator({
    config,
    store: createMemoryWorkStore(),
    pool,
    log: silentLogger,
    plugin: plugin(src.path),
    createWatcher: (opts) => {
      const watcher = createWatcher('inotify', opts);
      watchers.push({ watcher, opts });
      return watcher;
    },
  });
  try {
    await replicator.start({ fullSync: false });
    await body({ src: src.path, dst: dst.path, replicator, watchers });
  } finally {
    await replicator.stop();
    await pool.close();
    await src.remove();
    await dst.remove();
  }
}

test('a watcher whose read fails is replaced, the tree resynced, and status counts the restart', async () => {
  await withReplicator(
    () => null,
    async ({ src, dst, replicator, watchers }) => {
      const [first] = watchers;
      assert.ok(first !== undefined);
      simulateReadError(first.watcher, Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
      writeFileSync(join(src, 'while-restarting.txt'), 'no event may come for this one');
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
      assert.match(metrics, new RegExp(`sersync_watcher_restarts_total\\{root="${src}"\\} 1`));
      writeFileSync(join(src, 'after.txt'), 'seen by the new watcher');
      await eventually(
        () => existsSync(join(dst, 'after.txt')) && existsSync(join(dst, 'while-restarting.txt')),
        10_000,
        'both files on the replica',
      );
    },
  );
});

test('an overflow in a tree that tells a plugin is counted as events the plugin missed; the replica still converges', async () => {
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
  await withReplicator(
    (src) => ({ feed, roots: new Set([src]) }),
    async ({ src, dst, watchers }) => {
      writeFileSync(join(src, 'seen.txt'), 'an event the plugin gets');
      await eventually(() => told.includes('seen.txt'), 10_000, 'the plugin told');
      assert.equal(feed.report().overflows, 0);
      // as the watcher reports IN_Q_OVERFLOW (the file's own event comes too: this counts, not loses)
      writeFileSync(join(src, 'lost.txt'), 'written as the kernel overflows');
      watchers[0]?.opts.onEvents([{ type: 'overflow' }]);
      assert.equal(feed.report().overflows, 1);
      await eventually(() => existsSync(join(dst, 'lost.txt')), 10_000, 'lost.txt on the replica');
    },
  );
});

test(
  'a file system mounted after start, the watcher restarted, unmounted: the directory it covered is the tree, no gap',
  { skip: mountUnavailable() },
  async () => {
    await withReplicator(
      () => null,
      async ({ src, dst, replicator, watchers }) => {
        const sub = join(src, 'sub');
        const run = (...args: string[]): void => {
          const r = spawnSync(args[0] ?? '', args.slice(1), { encoding: 'utf8' });
          assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
        };
        const idle = (): boolean =>
          replicator.status()[0]?.lanes.every((l) => l.pending === 0 && !l.busy) === true;
        mkdirSync(sub);
        writeFileSync(join(sub, 'own.txt'), "the tree's own directory");
        await eventually(() => existsSync(join(dst, 'sub', 'own.txt')), 10_000, 'own.txt on the replica');
        run('mount', '-t', 'tmpfs', '-o', 'size=1m', 'sersync-test', sub);
        try {
          writeFileSync(join(sub, 'on-tmpfs.txt'), 'on the tmpfs');
          await eventually(
            () => existsSync(join(dst, 'sub', 'on-tmpfs.txt')),
            10_000,
            'the tmpfs replicated',
          );
          const [first] = watchers;
          assert.ok(first !== undefined);
          simulateReadError(first.watcher, Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' }));
          await eventually(
            () => watchers.length === 2 && replicator.status()[0]?.watching === true,
            10_000,
            'a new watcher',
          );
          assert.equal(replicator.status()[0]?.watcherRestarts, 1);
          // the resync after the restart done: what follows is the unmount's own doing
          await eventually(idle, 10_000, 'the resync after the restart');

          run('umount', sub);
          writeFileSync(join(sub, 'after.txt'), 'in the uncovered directory');
          await eventually(
            () =>
              existsSync(join(dst, 'sub', 'after.txt')) &&
              existsSync(join(dst, 'sub', 'own.txt')) &&
              !existsSync(join(dst, 'sub', 'on-tmpfs.txt')),
            10_000,
            'the replica as the uncovered directory',
          );
          const [tree] = replicator.status();
          assert.equal(tree?.watching, true);
          assert.deepEqual(tree.gaps, []);
        } finally {
          while (spawnSync('mountpoint', ['-q', sub]).status === 0) spawnSync('umount', [sub]);
        }
      },
    );
  },
);
