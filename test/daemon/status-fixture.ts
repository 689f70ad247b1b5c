/** A known replicator state for the status, table and metrics tests. */
import type { StatusInputs } from '../../src/daemon/status.js';
import type { LaneStats } from '../../src/sync/lane.js';
import type { PluginReport } from '../../src/plugins/feed.js';
import type { TreeStatus } from '../../src/sync/replicator.js';
import type { TreeWatchStatus } from '../../src/sync/tree-watch.js';

export const T = 1_800_000_000_000;

export function stats(over: Partial<LaneStats> = {}): LaneStats {
  return {
    batches: 0,
    failedBatches: 0,
    rsyncRuns: 0,
    filesSent: 0,
    bytesSent: 0,
    lastSuccessAt: null,
    lastFailureAt: null,
    lastError: null,
    lastFullSyncAt: null,
    delayedByName: 0,
    awaitingClose: 0,
    longestAwaitingClose: null,
    queueFailingSince: null,
    queueError: null,
    daemonRefused: 0,
    lastDaemonRefused: null,
    pruneRefused: 0,
    lastPruneRefused: null,
    daemonBusy: 0,
    lastDaemonBusy: null,
    fullSyncWindow: null,
    fullSyncRemovals: null,
    ...over,
  };
}

/** A tree's watch: fully watched by the inotify watcher unless `over` says otherwise. */
export function watched(over: Partial<TreeWatchStatus> = {}): TreeWatchStatus {
  return {
    watching: true,
    watcher: 'inotify',
    directories: 1,
    degraded: [],
    unwatchedDirectories: 0,
    gaps: [],
    resolvedRoot: null,
    rootSwitches: 0,
    watcherRestarts: 0,
    lastWatcherRestart: null,
    sharedFileSystems: [],
    ...over,
  };
}

/** Two trees; remote A serves both, remote B only the second (down, with retries queued). */
export function trees(): TreeStatus[] {
  return [wwwTree(), imgTree()];
}

export function wwwTree(): TreeStatus {
  return {
    root: '/srv/www',
    ...watched({ directories: 12, resolvedRoot: '/srv/www' }),
    events: 40,
    pending: 2,
    lanes: [
      {
        remote: 'A::m',
        pending: 2,
        busy: true,
        oldestChangeAt: T - 3000,
        contact: 'answering',
        ...stats({ batches: 5, rsyncRuns: 6, filesSent: 30, bytesSent: 3000, lastSuccessAt: T - 5000 }),
      },
    ],
  };
}

export function imgTree(): TreeStatus {
  return {
    root: '/srv/img',
    ...watched({ watching: false, watcher: null, directories: 0, degraded: ['root-gone'] }),
    events: 7,
    pending: 3,
    lanes: [
      {
        remote: 'A::m',
        pending: 0,
        busy: false,
        oldestChangeAt: null,
        contact: 'answering',
        ...stats({
          batches: 2,
          rsyncRuns: 2,
          filesSent: 4,
          bytesSent: 100,
          lastSuccessAt: T - 1000,
          lastFullSyncAt: T - 60_000,
          lastFailureAt: T - 90_000,
          lastError: 'old failure',
        }),
      },
      {
        remote: 'B::m',
        pending: 3,
        busy: false,
        oldestChangeAt: T - 1000,
        contact: 'answering',
        ...stats({
          batches: 4,
          failedBatches: 4,
          rsyncRuns: 4,
          lastFailureAt: T - 2000,
          lastError: 'refused',
          delayedByName: 1,
          awaitingClose: 2,
        }),
      },
    ],
  };
}

/**
 * A refreshCDN plugin whose purges fail now, with events waiting, one overflow it missed and two
 * events withheld from it (their root was replaced).
 */
export function failingPlugin(): PluginReport {
  return {
    name: 'refreshCDN',
    delivered: 120,
    failed: 3,
    backlog: 0,
    pending: 4,
    lastSuccessAt: T - 600_000,
    lastFailureAt: T - 2000,
    lastError: 'CDN refused the purge: HTTP/1.1 403 Forbidden',
    failing: true,
    overflows: 1,
    lastOverflowAt: T - 90_000,
    withheld: 2,
    lastWithheldAt: T - 30_000,
  };
}

export function inputs(over: Partial<StatusInputs> = {}): StatusInputs {
  return {
    pid: 4242,
    version: '9.9.9',
    configFile: '/etc/sersync2/confxml.xml',
    startedAt: T - 3_723_000,
    now: T,
    reloads: 0,
    lastReloadAt: null,
    trees: trees(),
    retries: [
      { remoteId: 'B::m', root: '/srv/img', count: 17, oldestSeenAt: T - 120_000 },
      { remoteId: 'A::m', root: '/srv/www', count: 1, oldestSeenAt: null },
    ],
    pool: { inFlight: 1, maxConcurrent: 10, started: 12, cannotStart: null },
    nextFullSyncAt: T + 600_000,
    ...over,
  };
}
