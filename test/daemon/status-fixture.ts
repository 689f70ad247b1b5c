/** A known replicator state for the status, table and metrics tests. */
import type { StatusInputs } from '../../src/daemon/status.js';
import type { LaneStats } from '../../src/sync/lane.js';
import type { TreeStatus } from '../../src/sync/replicator.js';

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
    watching: true,
    directories: 12,
    events: 40,
    lanes: [
      {
        remote: 'A::m',
        pending: 2,
        busy: true,
        ...stats({ batches: 5, rsyncRuns: 6, filesSent: 30, bytesSent: 3000, lastSuccessAt: T - 5000 }),
      },
    ],
  };
}

export function imgTree(): TreeStatus {
  return {
    root: '/srv/img',
    watching: false,
    directories: 0,
    events: 7,
    lanes: [
      {
        remote: 'A::m',
        pending: 0,
        busy: false,
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
        ...stats({
          batches: 4,
          failedBatches: 4,
          rsyncRuns: 4,
          lastFailureAt: T - 2000,
          lastError: 'refused',
        }),
      },
    ],
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
      { remoteId: 'B::m', root: '/srv/img', count: 17 },
      { remoteId: 'A::m', root: '/srv/www', count: 1 },
    ],
    pool: { inFlight: 1, maxConcurrent: 10, started: 12 },
    nextFullSyncAt: T + 600_000,
    ...over,
  };
}
