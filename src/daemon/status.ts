/**
 * What `sersync2 status`, `GET /status` and `GET /metrics` report: one snapshot of the running
 * replicator, built here from its parts by pure functions.
 */
import type { PluginReport } from '../plugins/feed.js';
import type { LaneRetries } from '../queue/types.js';
import type { LaneStats } from '../sync/lane.js';
import type { LogTrouble } from '../log/logger.js';
import type { FailLogTrouble } from '../queue/fail-log-mirror.js';
import type { RsyncRefusal } from '../sync/pool.js';
import type { RsyncReport } from '../sync/rsync-version.js';
import type { RemoteContact, TreeStatus } from '../sync/replicator.js';
import type { TreeWatchStatus } from '../sync/tree-watch.js';
import type { VerifyStatus } from '../verify/periodic.js';

/**
 * One tree. `watching` is true only while every change in the whole tree is seen; `degraded`
 * says why not (or what the running watcher cannot guarantee), `gaps` where.
 */
export interface TreeReport extends TreeWatchStatus {
  readonly root: string;
  /** Watch events seen since start (over reloads). */
  readonly events: number;
  /** Operations waiting for dispatch, summed over the tree's remotes. */
  readonly pending: number;
}

/** One tree to one remote. */
export interface LaneReport extends LaneStats {
  readonly root: string;
  readonly remote: string;
  readonly pending: number;
  readonly inFlight: boolean;
  /** Failed operations in the retry queue, waiting for their next attempt. */
  readonly queuedRetries: number;
  /**
   * The replication lag: the age in seconds of the oldest change not yet on the remote (pending,
   * in flight or in the retry queue); 0 when there is none.
   */
  readonly lagSeconds: number;
  readonly contact: RemoteContact;
}

/** A remote over every tree that replicates to it. */
export interface RemoteReport {
  readonly remote: string;
  readonly trees: readonly string[];
  /** Batches being sent now (at most one per tree). */
  readonly inFlight: number;
  readonly pending: number;
  readonly queuedRetries: number;
  readonly batches: number;
  readonly failedBatches: number;
  readonly rsyncRuns: number;
  readonly filesSent: number;
  readonly bytesSent: number;
  readonly lastSuccessAt: number | null;
  readonly lastFailureAt: number | null;
  /** rsync's message of the last failure. */
  readonly lastError: string | null;
  /** The largest lag of its trees (see LaneReport). */
  readonly lagSeconds: number;
  /** What its rsync daemon refused to receive, by its module's policy (see LaneStats). */
  readonly daemonRefused: number;
  readonly lastDaemonRefused: LaneStats['lastDaemonRefused'];
  /** New directories whose prune its rsync daemon refused, by its policy (see LaneStats). */
  readonly pruneRefused: number;
  readonly lastPruneRefused: LaneStats['lastPruneRefused'];
  /** Runs its rsync daemon refused as busy, its module's max connections taken (see LaneStats). */
  readonly daemonBusy: number;
  readonly lastDaemonBusy: LaneStats['lastDaemonBusy'];
  /** How its trees' last full sync compared times (see LaneStats). */
  readonly fullSyncWindow: LaneStats['fullSyncWindow'];
  /** Whether its trees' last full sync could remove (see LaneStats). */
  readonly fullSyncRemovals: LaneStats['fullSyncRemovals'];
  /** How it answers: the worst over its trees' lanes (see RemoteContact). */
  readonly contact: RemoteContact;
}

export interface PoolReport {
  readonly inFlight: number;
  readonly maxConcurrent: number;
  /** rsync runs started since the daemon started. */
  readonly started: number;
  /** While rsync cannot be started (not installed, or out of descriptors or processes); null once a run starts. */
  readonly cannotStart: RsyncRefusal | null;
}

/** The process that answers, in every status. */
export interface ProcessReport {
  readonly pid: number;
  readonly version: string;
  readonly configFile: string;
  readonly startedAt: number;
  /** The daemon's clock when this was taken (epoch ms). */
  readonly now: number;
  readonly uptimeSeconds: number;
}

type ProcessInputs = Omit<ProcessReport, 'uptimeSeconds'>;

function processReport(input: ProcessInputs): ProcessReport {
  const { pid, version, configFile, startedAt, now } = input;
  return { pid, version, configFile, startedAt, now, uptimeSeconds: Math.floor((now - startedAt) / 1000) };
}

/** `sersync2 -m PLUGIN`: the plugin only, no rsync, so no remotes, lanes or queue. */
export interface PluginOnlyStatus extends ProcessReport {
  readonly mode: 'plugin-only';
  readonly plugin: PluginReport;
  readonly trees: readonly TreeReport[];
  /** As `DaemonStatus.logWriteFailure`. */
  readonly logWriteFailure: LogTrouble | null;
}

/** The status of a `sersync2 -m PLUGIN`. */
export function buildPluginOnlyStatus(
  input: ProcessInputs & {
    readonly plugin: PluginReport;
    readonly trees: readonly TreeReport[];
    readonly logTrouble?: LogTrouble | null;
  },
): PluginOnlyStatus {
  return {
    ...processReport(input),
    mode: 'plugin-only',
    plugin: input.plugin,
    trees: input.trees,
    logWriteFailure: input.logTrouble ?? null,
  };
}

export function isPluginOnly(s: DaemonStatus | PluginOnlyStatus): s is PluginOnlyStatus {
  return (s as Partial<PluginOnlyStatus>).mode === 'plugin-only';
}

/** A reload (SIGHUP) that did not take effect: the config was unusable, or could not start. */
export interface ReloadRefusal {
  readonly at: number;
  readonly error: string;
}

export interface DaemonStatus extends ProcessReport {
  readonly reloads: number;
  readonly lastReloadAt: number | null;
  /** The last reload that was refused, until one takes effect (the running config stays). */
  readonly reloadRefused: ReloadRefusal | null;
  /**
   * What is wrong with the rsync every sync runs (missing, or too old to keep the tree's boundary),
   * once it was looked at (10 s after the start); null when nothing.
   */
  readonly rsyncProblem: string | null;
  /** The rsync every sync runs, and whether its reads are confined to the tree; null until looked at. */
  readonly rsync: RsyncReport | null;
  readonly trees: readonly TreeReport[];
  readonly remotes: readonly RemoteReport[];
  readonly lanes: readonly LaneReport[];
  readonly pool: PoolReport;
  readonly fullSync: {
    /** When a full sync of a tree last reached one of its remotes, or null. */
    readonly lastAt: number | null;
    /** Next crontab full sync, or null without a crontab. */
    readonly nextAt: number | null;
  };
  /** The last periodic verify (`<verify start="true">`), or null when it is off. */
  readonly verify: VerifyStatus | null;
  /** The plugin of `<plugin start="true">`, or null. */
  readonly plugin: PluginReport | null;
  /**
   * Null while batches are recorded in the retry queue; else since when they cannot be, and why
   * (their changes wait in memory and go once it can be written).
   */
  readonly queueWriteFailure: { readonly since: number; readonly error: string } | null;
  /** Null while the log file is written (or there is none); else since when it cannot be, and why. */
  readonly logWriteFailure: LogTrouble | null;
  /** Null while sersync's fail log is written from the queue; else which, since when it is not, and why. */
  readonly failLogWriteFailure: FailLogTrouble | null;
  /**
   * Retry rows of trees or remotes no longer in the config (a reload removed them): never sent by
   * this replicator, kept for `sersync2 queue` (drop them, or put the remote back).
   */
  readonly orphanedRetries: readonly LaneRetries[];
}

export interface StatusInputs extends ProcessInputs {
  readonly reloads: number;
  readonly lastReloadAt: number | null;
  readonly reloadRefused?: ReloadRefusal | null;
  readonly rsync?: RsyncReport | null;
  readonly logTrouble?: LogTrouble | null;
  readonly failLogTrouble?: FailLogTrouble | null;
  readonly trees: readonly TreeStatus[];
  readonly retries: readonly LaneRetries[];
  readonly pool: PoolReport;
  readonly nextFullSyncAt: number | null;
  readonly verify?: VerifyStatus | null;
  readonly plugin?: PluginReport | null;
}

export function buildStatus(input: StatusInputs): DaemonStatus {
  const retries = new Map(input.retries.map((r) => [laneKey(r.root, r.remoteId), r]));
  const lanes: LaneReport[] = input.trees.flatMap((t) =>
    t.lanes.map(({ remote, pending, busy, oldestChangeAt, ...stats }) => {
      const queued = retries.get(laneKey(t.root, remote));
      const oldest = earliest([oldestChangeAt, queued?.oldestSeenAt ?? null]);
      return {
        root: t.root,
        remote,
        pending,
        inFlight: busy,
        queuedRetries: queued?.count ?? 0,
        lagSeconds: oldest === null ? 0 : Math.max(0, (input.now - oldest) / 1000),
        ...stats,
      };
    }),
  );
  return {
    ...processReport(input),
    reloads: input.reloads,
    lastReloadAt: input.lastReloadAt,
    reloadRefused: input.reloadRefused ?? null,
    rsyncProblem: input.rsync?.problem ?? null,
    rsync: input.rsync ?? null,
    trees: input.trees.map(({ lanes: _lanes, ...t }) => t),
    remotes: remotesOf(lanes),
    lanes,
    pool: input.pool,
    fullSync: { lastAt: latest(lanes.map((l) => l.lastFullSyncAt)), nextAt: input.nextFullSyncAt },
    verify: input.verify ?? null,
    plugin: input.plugin ?? null,
    queueWriteFailure: queueWriteFailure(lanes),
    logWriteFailure: input.logTrouble ?? null,
    failLogWriteFailure: input.failLogTrouble ?? null,
    orphanedRetries: input.retries.filter(
      (r) => r.count > 0 && !lanes.some((l) => l.root === r.root && l.remote === r.remoteId),
    ),
  };
}

/** The lane that has failed to record its batches the longest, as one failure of the queue. */
function queueWriteFailure(lanes: readonly LaneReport[]): DaemonStatus['queueWriteFailure'] {
  let first: DaemonStatus['queueWriteFailure'] = null;
  for (const l of lanes)
    if (l.queueFailingSince !== null && (first === null || l.queueFailingSince < first.since))
      first = { since: l.queueFailingSince, error: l.queueError ?? 'unknown error' };
  return first;
}

/** Worst first. */
const CONTACTS: readonly RemoteContact[] = ['unreachable', 'runs-lost', 'answering'];

function remotesOf(lanes: readonly LaneReport[]): RemoteReport[] {
  const ids = [...new Set(lanes.map((l) => l.remote))];
  return ids.map((remote) => {
    const own = lanes.filter((l) => l.remote === remote);
    const sum = (f: (l: LaneReport) => number): number => own.reduce((n, l) => n + f(l), 0);
    const lastFailed = latestBy(own, (l) => l.lastFailureAt);
    return {
      remote,
      trees: own.map((l) => l.root),
      inFlight: sum((l) => (l.inFlight ? 1 : 0)),
      pending: sum((l) => l.pending),
      queuedRetries: sum((l) => l.queuedRetries),
      batches: sum((l) => l.batches),
      failedBatches: sum((l) => l.failedBatches),
      rsyncRuns: sum((l) => l.rsyncRuns),
      filesSent: sum((l) => l.filesSent),
      bytesSent: sum((l) => l.bytesSent),
      lastSuccessAt: latest(own.map((l) => l.lastSuccessAt)),
      lastFailureAt: lastFailed?.lastFailureAt ?? null,
      lastError: lastFailed?.lastError ?? null,
      lagSeconds: Math.max(0, ...own.map((l) => l.lagSeconds)),
      daemonRefused: sum((l) => l.daemonRefused),
      lastDaemonRefused: latestOf(own, (l) => l.lastDaemonRefused),
      pruneRefused: sum((l) => l.pruneRefused),
      lastPruneRefused: latestOf(own, (l) => l.lastPruneRefused),
      daemonBusy: sum((l) => l.daemonBusy),
      lastDaemonBusy: latestOf(own, (l) => l.lastDaemonBusy),
      fullSyncWindow: latestOf(own, (l) => l.fullSyncWindow),
      fullSyncRemovals: latestOf(own, (l) => l.fullSyncRemovals),
      contact: CONTACTS.find((c) => own.some((l) => l.contact === c)) ?? 'answering',
    };
  });
}

/**
 * A reload starts a new replicator with fresh counters. The daemon keeps what the ended ones
 * counted (`addRun`) and adds it to the running one's (`withPast`), so counters only grow.
 */
export function withPast(current: readonly TreeStatus[], past: readonly TreeStatus[]): TreeStatus[] {
  return current.map((tree) => {
    const before = past.find((p) => p.root === tree.root);
    if (before === undefined) return tree;
    return {
      ...tree,
      events: tree.events + before.events,
      lanes: tree.lanes.map((lane) => {
        const old = before.lanes.find((l) => l.remote === lane.remote);
        return old === undefined ? lane : { ...lane, ...addStats(lane, old) };
      }),
    };
  });
}

/** The past once one more replicator has ended: its counters added, nothing of either dropped. */
export function addRun(past: readonly TreeStatus[], ended: readonly TreeStatus[]): TreeStatus[] {
  const merged = withPast(ended, past).map((tree) => {
    const before = past.find((p) => p.root === tree.root);
    const gone = before?.lanes.filter((l) => !tree.lanes.some((x) => x.remote === l.remote)) ?? [];
    return { ...tree, lanes: [...tree.lanes, ...gone] };
  });
  return [...merged, ...past.filter((p) => !ended.some((t) => t.root === p.root))];
}

/**
 * The plugin's counters over reloads (each reload starts a new plugin): the running one's plus
 * what `past`, the ended ones of the same plugin, counted. Gauges are the running one's.
 */
export function pluginWithPast(now: PluginReport | null, past: PluginReport | null): PluginReport | null {
  if (now === null || past === null || past.name !== now.name) return now;
  return {
    ...now,
    delivered: now.delivered + past.delivered,
    failed: now.failed + past.failed,
    overflows: now.overflows + past.overflows,
    withheld: now.withheld + past.withheld,
    ...laterFailure(now, past),
    lastOverflowAt: latest([now.lastOverflowAt, past.lastOverflowAt]),
    lastWithheldAt: latest([now.lastWithheldAt, past.lastWithheldAt]),
  };
}

interface Failed {
  readonly lastSuccessAt: number | null;
  readonly lastFailureAt: number | null;
  readonly lastError: string | null;
}

/** The last success of either, and the later failure with its message. */
function laterFailure(now: Failed, before: Failed): Failed {
  const failedLast = (before.lastFailureAt ?? -1) > (now.lastFailureAt ?? -1) ? before : now;
  return {
    lastSuccessAt: latest([now.lastSuccessAt, before.lastSuccessAt]),
    lastFailureAt: failedLast.lastFailureAt,
    lastError: failedLast.lastError,
  };
}

function addStats(now: LaneStats, before: LaneStats): LaneStats {
  return {
    batches: now.batches + before.batches,
    failedBatches: now.failedBatches + before.failedBatches,
    rsyncRuns: now.rsyncRuns + before.rsyncRuns,
    filesSent: now.filesSent + before.filesSent,
    bytesSent: now.bytesSent + before.bytesSent,
    ...laterFailure(now, before),
    lastFullSyncAt: latest([now.lastFullSyncAt, before.lastFullSyncAt]),
    delayedByName: now.delayedByName, // gauges: the running lane's
    awaitingClose: now.awaitingClose,
    longestAwaitingClose: now.longestAwaitingClose,
    queueFailingSince: now.queueFailingSince,
    queueError: now.queueError,
    daemonRefused: now.daemonRefused + before.daemonRefused,
    lastDaemonRefused: latestOf([now, before], (l) => l.lastDaemonRefused),
    pruneRefused: now.pruneRefused + before.pruneRefused,
    lastPruneRefused: latestOf([now, before], (l) => l.lastPruneRefused),
    daemonBusy: now.daemonBusy + before.daemonBusy,
    lastDaemonBusy: latestOf([now, before], (l) => l.lastDaemonBusy),
    fullSyncWindow: latestOf([now, before], (l) => l.fullSyncWindow),
    fullSyncRemovals: latestOf([now, before], (l) => l.fullSyncRemovals),
  };
}

function earliest(times: readonly (number | null)[]): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length === 0 ? null : Math.min(...known);
}

function latest(times: readonly (number | null)[]): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length === 0 ? null : Math.max(...known);
}

/** The latest of their last refusals of one kind. */
function latestOf<R extends { readonly at: number }>(
  stats: readonly LaneStats[],
  last: (l: LaneStats) => R | null,
): R | null {
  const l = latestBy(stats, (s) => last(s)?.at ?? null);
  return l === undefined ? null : last(l);
}

function latestBy<T>(items: readonly T[], at: (item: T) => number | null): T | undefined {
  return items.reduce<T | undefined>((best, item) => {
    const t = at(item);
    return t !== null && (best === undefined || t > (at(best) ?? -1)) ? item : best;
  }, undefined);
}

function laneKey(root: string, remoteId: string): string {
  return `${root}\0${remoteId}`;
}
