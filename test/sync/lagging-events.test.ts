/**
 * A change comes in some time after it is made (the kernel's queue, a busy event loop). A batch
 * that walks a directory meanwhile sends a file made there whose creation has not come in yet;
 * when it comes in after the batch landed, the file must not pass for one the replica never saw:
 * its removal (a rename away, an `rm`) is sent, not cancelled. Found by the churn test (a
 * directory renamed away stayed on the replica); here the lag is the test's to hold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import { Replicator } from '../../src/sync/replicator.js';
import { createWatcher, type Watcher } from '../../src/watch/index.js';
import type { WatchEvent, WatcherOptions } from '../../src/watch/types.js';
import { withQueueRig } from '../helpers/lane.js';
import type { RsyncDaemon } from '../helpers/rsyncd.js';
import { silentLogger } from '../../src/log/logger.js';
import { overriding } from '../helpers/watcher.js';

/** A real inotify watcher whose events reach the replicator only when the test lets them. */
interface Lagging {
  readonly watcher: Watcher;
  /** Events are held from now on (the watcher itself keeps reading and watching). */
  hold(): void;
  /** Everything the kernel had queued is read and held. */
  read(): Promise<void>;
  /**
   * Hands on the first `n` events held (all by default), in one call, but those `lost` says the
   * kernel would not have had a watch to report; holding stops once all are.
   */
  release(n?: number, lost?: (e: WatchEvent) => boolean): WatchEvent[];
}

function lagging(opts: WatcherOptions): Lagging {
  const held: WatchEvent[] = [];
  let holding = false;
  let waiters: (() => void)[] = [];
  const watcher = createWatcher('inotify', {
    ...opts,
    onEvents: (events) => {
      if (holding) held.push(...events);
      else opts.onEvents(events);
    },
  });
  return {
    watcher: {
      ...overriding(watcher, {}),
      // what is held has not been handed on: it counts as still coming in
      settled: async () => {
        await watcher.settled();
        while (held.length > 0) await new Promise<void>((resolve) => waiters.push(resolve));
      },
    },
    hold: () => {
      holding = true;
    },
    read: () => watcher.settled(),
    release: (n = held.length, lost = () => false) => {
      const out = held.splice(0, n).filter((e) => !lost(e));
      if (held.length === 0) holding = false;
      opts.onEvents(out);
      if (held.length === 0) {
        for (const wake of waiters) wake();
        waiters = [];
      }
      return out;
    },
  };
}

/** A replicator whose tree's watcher lags as the test says, started on a real daemon; stopped after. */
async function withLaggingReplicator(
  body: (rig: { daemon: RsyncDaemon; src: string; replicator: Replicator; lag: Lagging }) => Promise<void>,
): Promise<void> {
  await withQueueRig(2, async ({ daemon, pool, src, state, config }) => {
    const store = openWorkStore(join(state, 'queue.db'));
    let lag: Lagging | undefined;
    const replicator = new Replicator({
      config,
      store,
      pool,
      log: silentLogger,
      plugin: null,
      createWatcher: (opts) => {
        lag = lagging(opts);
        return lag.watcher;
      },
    });
    try {
      await replicator.start({ fullSync: false });
      assert.ok(lag !== undefined);
      await body({ daemon, src, replicator, lag });
    } finally {
      await replicator.stop();
      store.close();
    }
  });
}

test('a file a walk sent before its creation came in: renamed away once it does, it is removed from the replica', async () => {
  await withLaggingReplicator(async ({ daemon, src, replicator, lag }) => {
    lag.hold();
    mkdirSync(join(src, 'e'));
    await lag.read(); // e is watched now: what is made in it has events of its own
    writeFileSync(join(src, 'e', 'f'), 'made before the walk of e, announced after it');
    await lag.read();
    const first = lag.release(1);
    assert.deepEqual(first, [{ type: 'create', path: 'e', isDir: true }]);
    await replicator.idle();
    assert.ok(existsSync(join(daemon.dir, 'e', 'f')), 'the walk of e sent e/f');

    renameSync(join(src, 'e', 'f'), join(src, 'g'));
    await lag.read();
    const late = lag.release();
    assert.ok(
      late.some((e) => e.type === 'create' && e.path === 'e/f') && late.some((e) => e.type === 'rename'),
      `e/f's creation and its rename came in together: ${JSON.stringify(late)}`,
    );
    await replicator.idle();
    assert.ok(existsSync(join(daemon.dir, 'g')), 'g sent');
    assert.ok(!existsSync(join(daemon.dir, 'e', 'f')), 'e/f removed from the replica');
  });
});

test('a file a full sync sent from a new directory before its watch was set, gone before it: the directory is pruned when it comes in', async () => {
  await withLaggingReplicator(async ({ daemon, src, replicator, lag }) => {
    lag.hold();
    mkdirSync(join(src, 'd'));
    writeFileSync(join(src, 'd', '.tmp-1234'), 'a temporary file in a new directory');
    replicator.resync(); // a full sync (an overflow's, the crontab's) lists it
    await replicator.idle();
    assert.ok(existsSync(join(daemon.dir, 'd', '.tmp-1234')), 'the full sync sent it');
    renameSync(join(src, 'd', '.tmp-1234'), join(src, 'd', 'final'));
    await lag.read();
    // The watcher had not set d's watch yet when the file came and went (that window cannot be
    // made to last here): what happened below d has no event, only d's creation comes in.
    const below = (v: unknown): boolean => typeof v === 'string' && v.startsWith('d/');
    const late = lag.release(undefined, (e) => Object.values(e).some(below));
    assert.deepEqual(late, [{ type: 'create', path: 'd', isDir: true }]);
    await replicator.idle();
    assert.ok(existsSync(join(daemon.dir, 'd', 'final')), 'd sent');
    assert.ok(!existsSync(join(daemon.dir, 'd', '.tmp-1234')), 'the temporary file pruned from the replica');
  });
});
