import { mkdirSync, rmSync } from 'node:fs';
import type { Config, Remote } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import type { WorkStore } from '../../src/queue/types.js';
import { Lane, type BatchReport, type LaneContext } from '../../src/sync/lane.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { Replicator, type ReplicatorDeps } from '../../src/sync/replicator.js';
import { createWatcher } from '../../src/watch/index.js';
import { daemonRemote, testConfig } from './config.js';
import { createMemoryWorkStore } from './memory-store.js';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from './rsyncd.js';
import { tempDir } from './tmp.js';

export interface LaneRig {
  readonly root: string;
  readonly lane: Lane;
  /** Every batch the lane reported, in order. */
  readonly reports: BatchReport[];
  /** Resolves when the lane reports its next batch. */
  readonly nextReport: () => Promise<void>;
  readonly store: WorkStore;
  readonly config: Config;
}

/**
 * Runs `body` with a lane from a fresh temporary tree to `daemon`'s module (emptied first), on
 * `pool`, with an in-memory queue; the lane is stopped and the tree removed after.
 */
export async function withLane(
  daemon: RsyncDaemon,
  pool: RsyncPool,
  opts: { readonly depth?: number; readonly sideSettleMs?: number },
  body: (rig: LaneRig) => Promise<void>,
): Promise<void> {
  const src = await tempDir();
  rmSync(daemon.dir, { recursive: true, force: true });
  mkdirSync(daemon.dir);
  const remote = daemonRemote(daemon);
  const config = testConfig([{ watch: src.path, remotes: [remote] }], { daemon });
  const store = createMemoryWorkStore();
  const reports: BatchReport[] = [];
  const waiting: (() => void)[] = [];
  const lane = testLane({
    config,
    root: src.path,
    remote,
    pool,
    store,
    ...(opts.depth === undefined ? {} : { depth: opts.depth }),
    ...(opts.sideSettleMs === undefined ? {} : { sideSettleMs: opts.sideSettleMs }),
    onBatch: (r) => {
      reports.push(r);
      for (const w of waiting.splice(0)) w();
    },
  });
  const nextReport = (): Promise<void> => new Promise((resolve) => waiting.push(resolve));
  try {
    await body({ root: src.path, lane, reports, nextReport, store, config });
  } finally {
    await lane.stop();
    await src.remove();
  }
}

/** A lane as tests make one: a silent log, a 1 ms settle, no report unless `onBatch` is given. */
export function testLane(
  ctx: Pick<LaneContext, 'config' | 'root' | 'remote' | 'pool' | 'store'> & Partial<LaneContext>,
): Lane {
  return new Lane({ log: silentLogger, settleMs: 1, onBatch: () => undefined, ...ctx });
}

/** What `withQueueRig` gives: a real daemon and its remote, a pool, a tree and a state directory. */
export interface QueueRig {
  readonly daemon: RsyncDaemon;
  readonly pool: RsyncPool;
  readonly src: string;
  readonly state: string;
  readonly remote: Remote;
  readonly config: Config;
}

/**
 * Runs `body` with a fresh rsync daemon, a pool of `poolSize`, a tree and a state directory (for
 * a SQLite queue the body opens and closes); all of them are disposed after it.
 */
export async function withQueueRig(poolSize: number, body: (rig: QueueRig) => Promise<void>): Promise<void> {
  const daemon = await startRsyncDaemon();
  const pool = new RsyncPool(poolSize);
  const src = await tempDir();
  const state = await tempDir();
  const remote = daemonRemote(daemon);
  try {
    const config = testConfig([{ watch: src.path, remotes: [remote] }], { daemon });
    await body({ daemon, pool, src: src.path, state: state.path, remote, config });
  } finally {
    await pool.close();
    await src.remove();
    await state.remove();
    await disposeRsyncDaemon(daemon);
  }
}

/** A replicator as tests make one: the native inotify watcher, no plugin, unless `deps` say otherwise. */
export function testReplicator(
  deps: Omit<ReplicatorDeps, 'plugin' | 'createWatcher'> & Partial<ReplicatorDeps>,
): Replicator {
  return new Replicator({ plugin: null, createWatcher: (opts) => createWatcher('inotify', opts), ...deps });
}
