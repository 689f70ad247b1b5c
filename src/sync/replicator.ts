import { lstatSync } from 'node:fs';
import type { PathOp } from '../coalesce/types.js';
import type { Config, LocalPath } from '../config/types.js';
import { toChanges, type Change } from '../filter/changes.js';
import { compilePathFilter, filterSpecOf, type PathPredicate } from '../filter/path-filter.js';
import type { Logger } from '../log/logger.js';
import { SersyncError } from '../errors.js';
import { displayPath, type RelPath } from '../paths.js';
import { treeEvents } from '../plugins/tree-events.js';
import type { PluginFeed } from '../plugins/feed.js';
import type { PluginEvent } from '../plugins/types.js';
import type { LaneId, WorkStore } from '../queue/types.js';
import type { WatchEvent, WatchStats } from '../watch/types.js';
import { describeExit, failureOutcome, remoteLoss, UNSAID_CLOSE } from './exit-codes.js';
import { Lane, type BatchReport, type LaneStats } from './lane.js';
import { crontabExcludes } from './plan.js';
import type { RsyncPool } from './pool.js';
import type { ReplicaRecords } from './local-replica.js';
import { probeRemote } from './probe.js';
import type { RootSource } from './root-identity.js';
import { rsyncRunsOf } from './task.js';
import { TreeWatch, type TreeWatchStatus, type WatcherFactory } from './tree-watch.js';
import { absoluteBytes } from './walk.js';

export type { WatcherFactory } from './tree-watch.js';

export interface ReplicatorDeps {
  readonly config: Config;
  readonly store: WorkStore;
  readonly pool: RsyncPool;
  readonly log: Logger;
  readonly createWatcher: WatcherFactory;
  /** The plugin of `<sersync><plugin start="true">`, run after each batch's syncs of these trees; or null. */
  readonly plugin: { readonly feed: PluginFeed; readonly roots: ReadonlySet<string> } | null;
  /** Milliseconds an idle lane waits for companion events (see LaneContext). */
  readonly settleMs?: number;
  /** How often the retry queue is looked at (it may also be changed by `sersync2 queue retry`). */
  readonly retryPollMs?: number;
  /** How often the root is checked (still the same directory, back after it vanished). */
  readonly rootPollMs?: number;
  /** How often directories left unwatched at the watch limit are sent whole (default 10 s). */
  readonly gapSyncMs?: number;
  /** How often watchers look at mounts and retry refused watches (default 1 s). */
  readonly recheckMs?: number;
  /** How often a remote whose last batch failed is probed. */
  readonly probeMs?: number;
  /** A reload's trees: past the watch limit they start degraded, not failed (see WatcherOptions). */
  readonly degradeAtLimit?: boolean;
  /** Local replicas as the process recorded them (see `ReplicaRecords`); else each lane records its own. */
  readonly replicas?: ReplicaRecords;
}

export interface TreeStatus extends TreeWatchStatus {
  readonly root: string;
  readonly events: number;
  /** Operations waiting for dispatch, over the tree's remotes (a plugin's own tree: its events waiting). */
  readonly pending: number;
  readonly lanes: readonly ({
    readonly remote: string;
    readonly pending: number;
    readonly busy: boolean;
    /** When the oldest change pending or in flight was seen (epoch ms), or null. */
    readonly oldestChangeAt: number | null;
    readonly contact: RemoteContact;
  } & LaneStats)[];
}

/**
 * How the remote answers the lane: `unreachable` since a batch found it lost (down, refusing
 * connections, its disk gone), until a probe finds it answering; `runs-lost` while its port answers
 * but every run is lost again (closed unsaid, as an rsync 3.1 daemon closes a run it refuses, or
 * stalled), its work left to the retry interval.
 */
export type RemoteContact = 'answering' | 'unreachable' | 'runs-lost';

/** One watched tree: its watch, its filter and one lane per remote. */
class Tree {
  watch: TreeWatch | null = null;
  events = 0;
  readonly excluded: PathPredicate;

  constructor(
    readonly spec: LocalPath,
    readonly lanes: readonly Lane[],
    config: Config,
  ) {
    this.excluded = compilePathFilter(filterSpecOf(config, spec.watch));
  }

  push(change: Change): void {
    for (const lane of this.lanes) lane.push(change);
  }
}

/** A change of the wall clock against the monotonic one that is a step, not a poll's jitter. */
const CLOCK_STEP_MS = 2000;

function wallClockOffset(): number {
  return Date.now() - performance.now();
}

/**
 * The real-time engine: every `<localpath>` watched, every change filtered and coalesced per
 * remote, sent in batches, failures kept in the work store and retried, the plugin run after
 * each batch. Everything here runs on the main thread; rsync runs in the pool's workers.
 */
export class Replicator {
  private readonly trees: Tree[];
  private readonly lanesByKey = new Map<string, Lane>();
  /** The tree and remote of every lane: whose retry rows this replicator sends. */
  private readonly laneIds: readonly LaneId[];
  private retryTimer: NodeJS.Timeout | null = null;
  /**
   * The resync an unclean last run owes (read before the watches are set, queued once they are):
   * a start that fails in between must not mark its stop clean, or the next start would skip it.
   */
  private owedResync = true;
  /** The wall clock less the monotonic one, as last seen: it moves only when the wall clock is stepped. */
  private clockOffset = wallClockOffset();
  /** A step the queue could not follow yet (its write failed): said once, tried at each poll. */
  private clockStepWaiting = false;
  /** Since when the retry queue's file is found removed or replaced (see WorkStore.fileLost). */
  private queueLostSince: number | null = null;
  /**
   * Where a lane stands with a remote its last batch lost: `lost`, probed until it answers, then its
   * backlog is released; `released`, by a probe, until its next batch; `refusing`, lost again on that
   * batch: the remote answers but closes every run (an rsync 3.1 daemon refusing them says only
   * that), so its work waits for its retry interval instead of each probe. A batch that gets through
   * ends it, and sends the backlog of a lane that was `lost` or `refusing` (see `afterBatch`).
   */
  private readonly remoteState = new Map<Lane, 'lost' | 'released' | 'refusing'>();
  /** Lanes whose last batch failed because rsync could not be started (see `ExitMeaning.notStarted`). */
  private readonly unstarted = new Set<Lane>();
  /**
   * Lanes whose remote may have changed under them, with why: lost in a way that may have changed
   * it (`remoteLoss().resync`: a receiver killed mid-file, a crashed daemon or a rebooted host,
   * leaves its temp file `.name.XXXXXX` on the replica, which no later send of that file removes;
   * a local replica's disk mounted again may be another disk, as rotated backups are), or a local
   * replica removed and made again for a run (it holds only that run's files). Their first
   * successful batch is followed by a full sync, which deletes such debris and fills such a disk;
   * rsync's quick check skips everything that already arrived.
   */
  private readonly interrupted = new Map<Lane, string>();
  private probeTimer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly deps: ReplicatorDeps) {
    const { config } = deps;
    this.trees = config.localpaths.map((lp) => {
      const source = (): RootSource | null => tree.watch?.source() ?? null;
      const lanes = lp.remotes.map((remote, i) => {
        const lane = new Lane({
          config,
          root: lp.watch,
          source,
          protect: (): readonly RelPath[] => tree.watch?.unmounted() ?? [],
          reported: (): Promise<void> => tree.watch?.settled() ?? Promise.resolve(),
          remote,
          replica: remote.target.kind === 'local' ? deps.replicas?.get(remote.target.path) : undefined,
          pool: deps.pool,
          store: deps.store,
          log: deps.log.child({ root: lp.watch, remote: remote.id }),
          settleMs: deps.settleMs ?? 2,
          onBatch: (report) => {
            this.afterBatch(lane, report);
            this.reportBatch(report, i === 0 && deps.plugin?.roots.has(lp.watch) === true);
          },
        });
        this.lanesByKey.set(laneKey(lp.watch, remote.id), lane);
        return lane;
      });
      const tree = new Tree(lp, lanes, config);
      return tree;
    });
    this.laneIds = config.localpaths.flatMap((lp) =>
      lp.remotes.map((r) => ({ root: lp.watch, remoteId: r.id })),
    );
  }

  /**
   * Sets every watch, then (in this order, so no change is missed) puts back work a crash
   * interrupted, resyncs after an unclean stop or when asked (`-r`), and starts retrying.
   */
  async start(opts: { fullSync: boolean }): Promise<WatchStats[]> {
    const { store, log } = this.deps;
    const clean = store.takeCleanStopMark();
    this.owedResync = !clean;
    const stats: WatchStats[] = [];
    for (const tree of this.trees) stats.push(await this.watch(tree));
    const recovered = store.recoverInflight();
    if (recovered > 0)
      log.warn({ operations: recovered }, 'work interrupted by the last stop is queued again');
    if (!clean) log.warn('the last run did not stop cleanly: resyncing every tree to every remote');
    this.lostBeforeStart();
    const made = this.madeReplicaLanes();
    this.owedResync = false; // from here on, the lanes hold it (a stop queues it)
    if (opts.fullSync || !clean) this.resync();
    else
      for (const lane of made) {
        log.warn(
          { root: lane.root, remote: lane.remote.id },
          'the local replica was missing and has been made: sending it the tree',
        );
        lane.push({ kind: 'resync' });
      }
    this.pollRetries();
    this.probeFailing();
    return stats;
  }

  /**
   * A lane whose queued work last failed because its remote was lost starts lost, as it was before
   * this start (a restart or a reload forgets it): probed at once, so `status` says so and its
   * backlog goes as soon as the remote answers, not at each row's back-off (up to `timeToExecute`).
   */
  private lostBeforeStart(): void {
    for (const { root, remoteId, failure } of this.deps.store.lastFailures(this.laneIds)) {
      const lane = this.lanesByKey.get(laneKey(root, remoteId));
      const loss = remoteLoss(failure);
      if (lane === undefined || !loss.lost) continue;
      this.remoteState.set(lane, 'lost');
      if (loss.resync) this.interrupted.set(lane, LOST_MIDWAY);
      this.deps.log.warn(
        { root: lane.root, remote: lane.remote.id, error: failure.message },
        'the remote was lost when its work was last tried (down, or its run cut off or closed unsaid): its backlog goes as soon as a probe finds it answering',
      );
    }
  }

  /** The lanes of local replicas the start had to make: they hold nothing yet, and get their tree. */
  private madeReplicaLanes(): Lane[] {
    return this.trees.flatMap((tree) =>
      tree.lanes.filter(
        ({ remote: { target } }) =>
          target.kind === 'local' && this.deps.replicas?.takeMade(target.path) === true,
      ),
    );
  }

  /** Queues a full sync of every tree (or one) to every remote. */
  resync(root?: string): void {
    for (const tree of this.trees)
      if (root === undefined || tree.spec.watch === root) tree.push({ kind: 'resync' });
  }

  /** Resolves when every lane is idle (nothing pending, nothing in flight) and plugins are done. */
  async idle(): Promise<void> {
    for (;;) {
      await Promise.all(this.trees.flatMap((t) => t.lanes.map((l) => l.idle())));
      await this.deps.plugin?.feed.drained();
      if (this.trees.every((t) => t.lanes.every((l) => !l.busy && l.pending === 0))) return;
    }
  }

  /**
   * Per tree and remote, what is not on the replica yet: waiting, in flight, or queued for
   * retry (`sersync2 verify` reports those paths as pending, not drift).
   */
  outstanding(): { root: string; remote: string; ops: PathOp[] }[] {
    const queued = this.deps.store.due(Number.MAX_SAFE_INTEGER, 100_000);
    return this.trees.flatMap((t) =>
      t.lanes.map((l) => ({
        root: l.root,
        remote: l.remote.id,
        ops: [
          ...l.outstanding(),
          ...queued.filter((r) => r.root === l.root && r.remoteId === l.remote.id).map((r) => r.op),
        ],
      })),
    );
  }

  /**
   * `sersync2 verify --repair`: these changes go through the lane of `root` to `remoteId` as if
   * their events had been seen. Returns how many; throws when there is no such lane.
   */
  repair(root: string, remoteId: string, changes: readonly Change[]): number {
    const lane = this.lanesByKey.get(laneKey(root, remoteId));
    if (lane === undefined)
      throw new SersyncError(
        'ERR_SERSYNC_NO_TREE',
        `${root} -> ${remoteId} is not replicated by this config`,
      );
    for (const c of changes) lane.push(c);
    return changes.length;
  }

  /** Whether the retry queue's file was removed or replaced, noting when it was first found so. */
  private queueFileLost(): string | null {
    const lost = this.deps.store.fileLost();
    if (lost === null) this.queueLostSince = null;
    else this.queueLostSince ??= Date.now();
    return lost;
  }

  status(): TreeStatus[] {
    const lost = this.queueFileLost();
    const lostSince = this.queueLostSince;
    return this.trees.map((t) => ({
      root: t.spec.watch,
      ...(t.watch?.status() ?? unwatched),
      events: t.events,
      pending: t.lanes.reduce((n, l) => n + l.pending, 0),
      lanes: t.lanes.map((l) => ({
        remote: l.remote.id,
        pending: l.pending,
        busy: l.busy,
        oldestChangeAt: l.oldestChangeAt,
        contact: contactOf(this.remoteState.get(l)),
        ...l.stats,
        ...(lost === null || l.stats.queueFailingSince !== null
          ? {}
          : { queueFailingSince: lostSince, queueError: lost }),
      })),
    }));
  }

  /**
   * Stops watching and dispatching; waits for the batches in flight. Each lane queues what it
   * leaves behind for the next start; the stop is marked clean only when every lane could.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    await Promise.all(this.trees.map((t) => this.closeWatch(t)));
    const queued = await Promise.all(this.trees.flatMap((t) => t.lanes.map((l) => l.stop())));
    await this.deps.plugin?.feed.drained();
    // A start that failed before its resync was queued owes it still: left to the next start.
    if (queued.includes(false) || this.owedResync) return;
    try {
      this.deps.store.markCleanStop();
    } catch (err) {
      this.deps.log.warn(
        { err },
        'cannot record the clean stop in the retry queue: the next start resyncs every tree',
      );
    }
  }

  /** Closes the tree's watch; what it cannot vouch for goes to the lanes as the syncs that cover it. */
  private async closeWatch(tree: Tree): Promise<void> {
    const unseen = await tree.watch?.close();
    if (unseen === undefined) return;
    if (unseen.tree !== null) {
      this.deps.log.warn(
        { root: tree.spec.watch, why: unseen.tree },
        'the watch cannot vouch for every change made before the stop: a full sync of the tree is queued for the next start',
      );
      tree.push({ kind: 'resync' });
      return;
    }
    for (const path of unseen.unwatched) tree.push({ kind: 'tree', path });
  }

  private watch(tree: Tree): Promise<WatchStats> {
    const { config, log } = this.deps;
    const watch = new TreeWatch({
      root: tree.spec.watch,
      createWatcher: this.deps.createWatcher,
      xfs: config.fileSystem.xfs,
      skipDir: (rel) => tree.excluded(rel, true),
      log,
      onEvents: (events) => {
        this.onEvents(tree, events);
      },
      push: (change) => {
        tree.push(change);
      },
      resumed: () => {
        for (const lane of tree.lanes) lane.resume();
      },
      pollMs: this.deps.rootPollMs ?? 1000,
      gapSyncMs: this.deps.gapSyncMs ?? 10_000,
      recheckMs: this.deps.recheckMs,
      degradeAtLimit: this.deps.degradeAtLimit === true,
    });
    tree.watch = watch;
    return watch.start();
  }

  private onEvents(tree: Tree, events: readonly WatchEvent[]): void {
    const { config, log } = this.deps;
    tree.events += events.length;
    for (const ev of events) {
      if (config.debug) log.debug({ root: tree.spec.watch, event: describeEvent(ev) }, 'inotify event');
      if (tree.watch?.handle(ev) === true) return;
      if (ev.type === 'overflow') {
        log.warn(
          { root: tree.spec.watch },
          'the kernel dropped events (inotify queue overflow): resyncing the tree',
        );
        // The resync repairs the replica; the plugin is never told what was lost.
        if (this.deps.plugin?.roots.has(tree.spec.watch) === true) this.deps.plugin.feed.missed();
      }
      for (const change of toChanges(ev, config.inotify, tree.excluded)) tree.push(change);
    }
  }

  private pollRetries(): void {
    if (this.stopping) return;
    this.queueFileLost(); // its "since" is then within a poll of the loss, not whenever status is asked
    const { store } = this.deps;
    this.followClockStep();
    const now = Date.now();
    // A row of a tree or remote no longer in the config stays queued for `sersync2 queue`, left
    // out here: it would keep the next retry due now, and crowd out the rows of these lanes.
    const lanes = this.laneIds;
    for (const row of store.due(now, 10_000, lanes))
      this.lanesByKey.get(laneKey(row.root, row.remoteId))?.restore(row.op, row.owesRemoval);
    const next = store.nextDueAt(lanes);
    const poll = this.deps.retryPollMs ?? 1000;
    const wait = next === null ? poll : Math.max(10, Math.min(poll, next - now));
    this.retryTimer = setTimeout(() => {
      this.pollRetries();
    }, wait);
    this.retryTimer.unref();
  }

  /**
   * The wall clock stepped (an NTP correction, a hardware clock kept in local time): the times of the
   * work waiting, in the lanes and in the queue, move with it, or the retries would wait as long as a
   * step back and the lag read 0 meanwhile.
   */
  private followClockStep(): void {
    const step = wallClockOffset() - this.clockOffset;
    if (Math.abs(step) < CLOCK_STEP_MS) {
      this.clockOffset += step;
      return;
    }
    const { store, log } = this.deps;
    try {
      store.shiftTimes(step);
    } catch (err) {
      // tried again at the next poll, the lanes with it: each time moves once
      if (!this.clockStepWaiting)
        log.warn({ err }, 'the wall clock was stepped, and the queue cannot follow it yet');
      this.clockStepWaiting = true;
      return;
    }
    this.clockStepWaiting = false;
    this.clockOffset += step;
    for (const tree of this.trees) for (const lane of tree.lanes) lane.shiftTimes(step);
    log.warn(
      { stepSeconds: Math.round(step / 1000) },
      'the wall clock was stepped: the work waiting keeps its waits and its lag',
    );
  }

  private afterBatch(lane: Lane, report: BatchReport): void {
    const { failure } = report;
    const loss = failure === null ? null : remoteLoss(failure);
    if (report.results.some((r) => r.replicaMadeAgain === true))
      this.interrupted.set(lane, 'the local replica was missing and has been made again');
    if (failure !== null && describeExit(failure.exitCode).notStarted === true) {
      this.unstarted.add(lane);
      return;
    }
    // rsync starts again: what waits because it could not is due now, not at its back-off time
    if (report.results.some((r) => r.ran))
      for (const waiting of this.unstarted) {
        this.unstarted.delete(waiting);
        this.releaseBacklog(waiting, 'rsync starts again: sending what waited for it');
      }
    const was = this.remoteState.get(lane);
    if (loss?.lost === true && was === 'released') {
      this.remoteState.set(lane, 'refusing');
      this.deps.log.warn(
        { root: lane.root, remote: lane.remote.id, error: failure?.message },
        `the remote answers, but failed again as soon as its backlog was sent (${UNSAID_CLOSE}; or a stalled transfer): its work waits for the retry interval`,
      );
      return;
    }
    if (loss?.lost === true) {
      this.remoteState.set(lane, 'lost');
      if (loss.resync) this.interrupted.set(lane, LOST_MIDWAY);
      return;
    }
    // A batch got through before the probe saw the remote answer, or while the remote that closed
    // every run waits for its interval: its backlog goes now, not at each row's back-off time.
    this.remoteState.delete(lane);
    if ((was === 'lost' || was === 'refusing') && failure === null) this.releaseBacklog(lane);
    if (failure !== null) return;
    const full = report.ops.some((op) => op.kind === 'full') && report.results.length > 0;
    if (full && this.fullSyncCarriesEverything()) {
      const settled = this.deps.store.settleLane(lane.remote.id, lane.root, !report.conceded.has('removals'));
      if (settled > 0)
        this.deps.log.info(
          { root: lane.root, remote: lane.remote.id, operations: settled },
          'the full sync carried the queued retries',
        );
    }
    const why = this.interrupted.get(lane);
    this.interrupted.delete(lane);
    if (why === undefined || full) return;
    this.deps.log.warn({ root: lane.root, remote: lane.remote.id }, `${why}: resyncing the tree to it`);
    lane.push({ kind: 'resync' });
  }

  /**
   * Whether a full sync sends and deletes every path a retry row can name: not when deletes are
   * off (no --delete) or the crontab filter keeps some paths out of full syncs.
   */
  private fullSyncCarriesEverything(): boolean {
    return this.deps.config.inotify.delete && crontabExcludes(this.deps.config).length === 0;
  }

  /** Puts every retry row of the lane back into it at once: its remote answers again (or `why`). */
  private releaseBacklog(lane: Lane, why = 'remote answers again: sending its backlog'): void {
    const rows = this.deps.store
      .due(Number.MAX_SAFE_INTEGER, 100_000)
      .filter((r) => r.remoteId === lane.remote.id && r.root === lane.root);
    if (rows.length === 0) return;
    this.deps.log.info({ remote: lane.remote.id, root: lane.root, operations: rows.length }, why);
    for (const row of rows) lane.restore(row.op, row.owesRemoval);
  }

  private probeFailing(): void {
    if (this.stopping) return;
    const { config } = this.deps;
    const lanes = [...this.remoteState].flatMap(([l, state]) => (state === 'lost' && !l.busy ? [l] : []));
    void Promise.all(
      lanes.map(async (lane) => {
        if (!(await probeRemote(lane.remote, config.rsync, lane.replica))) return;
        // a batch that got through while the probe waited has released the backlog itself
        if (this.stopping || this.remoteState.get(lane) !== 'lost') return;
        this.remoteState.set(lane, 'released');
        this.releaseBacklog(lane);
      }),
    ).finally(() => {
      if (this.stopping) return;
      this.probeTimer = setTimeout(() => {
        this.probeFailing();
      }, this.deps.probeMs ?? 2000);
      this.probeTimer.unref();
    });
  }

  private reportBatch(report: BatchReport, runsPlugin: boolean): void {
    const { log } = this.deps;
    const line = {
      root: report.root,
      remote: report.remote.id,
      operations: report.ops.length,
      listed: report.results.reduce((n, r) => n + r.listed, 0),
      files: report.results.reduce((n, r) => n + (r.filesSent ?? 0), 0),
      bytes: report.results.reduce((n, r) => n + (r.bytesSent ?? 0), 0),
      rsyncRuns: rsyncRunsOf(report.results),
      ms: Math.round(report.durationMs),
    };
    if (report.failure !== null)
      log.warn(
        {
          ...line,
          failedOperations: report.failedOps,
          exitCode: report.failure.exitCode,
          // `final`: retrying alone will not heal it (refused login, bad option): the operator must act.
          outcome: failureOutcome(report.failure),
          error: report.failure.message,
        },
        report.failedOps < report.ops.length
          ? 'synced in part: what failed is queued for retry'
          : 'sync failed, queued for retry',
      );
    // A batch that ran nothing (a refused full sync, which logged its own error) sent nothing.
    else if (report.results.length > 0) log.info(line, 'synced');
    const feed = this.deps.plugin?.feed;
    if (feed === undefined || !runsPlugin) return;
    const tree = this.trees.find((t) => t.lanes.some((l) => l.root === report.root));
    const excluded = tree?.excluded ?? ((): boolean => false);
    const events = report.ops.flatMap((op) => pluginEvents(report.root, op, excluded));
    feed.hand(events, { usable: () => tree?.watch?.trusted() !== false });
  }
}

/** A tree before its watch started. */
const unwatched: TreeWatchStatus = {
  watching: false,
  watcher: null,
  directories: 0,
  degraded: [],
  unwatchedDirectories: 0,
  gaps: [],
  resolvedRoot: null,
  rootSwitches: 0,
  watcherRestarts: 0,
  lastWatcherRestart: null,
  sharedFileSystems: [],
};

function laneKey(root: string, remoteId: string): string {
  return `${root}\0${remoteId}`;
}

/** What sersync handed its plugin after an event's syncs: created/changed paths and deleted ones. */
export function pluginEvents(root: string, op: PathOp, excluded: PathPredicate): PluginEvent[] {
  switch (op.kind) {
    case 'sync':
      return [{ root, path: op.path, isDir: isDirectory(root, op), op: 'sync' }];
    case 'tree':
    case 'move':
      return treeEvents(root, op.path, excluded);
    case 'delete':
      return [{ root, path: op.path, isDir: op.isDir, op: 'delete' }];
    case 'full':
      return [];
  }
}

function isDirectory(root: string, op: PathOp): boolean {
  try {
    return lstatSync(absoluteBytes(root, op.path)).isDirectory();
  } catch {
    return false;
  }
}

function describeEvent(ev: WatchEvent): Record<string, unknown> {
  switch (ev.type) {
    case 'rename':
      return { type: ev.type, from: displayPath(ev.from), to: displayPath(ev.to), isDir: ev.isDir };
    case 'overflow':
    case 'root-gone':
      return { type: ev.type };
    case 'rewatched':
      return { type: ev.type, path: displayPath(ev.path), why: ev.why };
    case 'failed':
      return { type: ev.type, reason: ev.reason };
    case 'create':
    case 'attrib':
    case 'delete':
    case 'move-in':
    case 'move-out':
      return { type: ev.type, path: displayPath(ev.path), isDir: ev.isDir };
    case 'write':
    case 'modify':
      return { type: ev.type, path: displayPath(ev.path) };
  }
}

const LOST_MIDWAY =
  'the remote answers again after a loss that may have changed it (a transfer cut off, a disk mounted again)';

/** What the lane's state with its remote (see `Replicator.remoteState`) means to an operator. */
function contactOf(state: 'lost' | 'released' | 'refusing' | undefined): RemoteContact {
  // released: the probe found it answering, and its backlog's batch says whether it takes runs
  return state === undefined ? 'answering' : state === 'refusing' ? 'runs-lost' : 'unreachable';
}
