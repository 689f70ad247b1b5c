import { backoffMs } from '../../src/backoff.js';
import type { PathOp } from '../../src/coalesce/types.js';
import { adoptsBelow } from '../../src/queue/carries.js';
import type { Failure, LaneId, QueueRow, WorkStore } from '../../src/queue/types.js';

/**
 * A `WorkStore` that lives in memory, for tests of what uses a store (lanes, full syncs), not of
 * the queue itself (those use SQLite). Back-off doubles from 2 s up to `maxIntervalMs`.
 */
export function createMemoryWorkStore(maxIntervalMs = 3_600_000): WorkStore {
  const rows = new Map<string, QueueRow & { batch: number }>();
  let nextId = 1;
  let nextBatch = 1;
  let clean = true;
  const keyOf = (remoteId: string, root: string, op: PathOp): string => `${remoteId}\0${root}\0${op.path}`;
  /** Retry rows, except those of a tree and remote whose full sync is in flight (see WorkStore.due). */
  const waiting = (): QueueRow[] => {
    const full = new Set(
      [...rows.values()]
        .filter((r) => r.op.kind === 'full' && r.state === 'inflight')
        .map((r) => `${r.remoteId}\0${r.root}`),
    );
    return [...rows.values()].filter((r) => r.state === 'retry' && !full.has(`${r.remoteId}\0${r.root}`));
  };
  /** Fails the batch's rows with their failure (`failureOf`); removes those that have none. */
  const failRows = (batch: number, failureOf: (path: string) => Failure | undefined, now: number): void => {
    for (const [k, r] of rows) {
      if (r.batch !== batch || r.state !== 'inflight') continue;
      const failure = failureOf(r.op.path);
      if (failure === undefined) {
        rows.delete(k);
        continue;
      }
      const attempts = r.attempts + 1;
      rows.set(k, {
        ...r,
        state: 'retry',
        attempts,
        firstFailureAt: r.firstFailureAt ?? now,
        lastFailureAt: now,
        exitCode: failure.exitCode,
        lastError: failure.message,
        nextAttemptAt: now + backoffMs(attempts, 2000, maxIntervalMs),
      });
    }
  };
  return {
    begin(remoteId, root, ops) {
      const batch = nextBatch++;
      for (const op of ops) {
        const key = keyOf(remoteId, root, op);
        const old = rows.get(key);
        rows.set(key, {
          id: old?.id ?? nextId++,
          remoteId,
          root,
          op,
          state: 'inflight',
          attempts: old?.attempts ?? 0,
          firstFailureAt: old?.firstFailureAt ?? null,
          lastFailureAt: old?.lastFailureAt ?? null,
          exitCode: old?.exitCode ?? null,
          lastError: old?.lastError ?? null,
          nextAttemptAt: null,
          owesRemoval:
            old !== undefined && (old.op.kind === 'delete' || old.op.kind === 'move' || old.owesRemoval),
          batch,
        });
        const adopts = adoptsBelow(op);
        if (adopts === null) continue;
        for (const [k, r] of rows) {
          const below = r.remoteId === remoteId && r.root === root && r.op.path.startsWith(`${op.path}/`);
          const carried = adopts === 'all' || (r.op.kind !== 'delete' && r.op.kind !== 'full');
          if (below && r.state === 'retry' && carried)
            rows.set(k, { ...r, state: 'inflight', nextAttemptAt: null, batch });
        }
      }
      return batch;
    },
    succeed(batch) {
      for (const [k, r] of rows) if (r.batch === batch) rows.delete(k);
    },
    fail(batch, failure, now = Date.now()) {
      failRows(batch, () => failure, now);
    },
    failPaths(batch, failures, now = Date.now()) {
      failRows(batch, (path) => failures.get(path), now);
    },
    due(now, limit, lanes) {
      return waiting()
        .filter((r) => inLanes(r, lanes))
        .filter((r) => (r.nextAttemptAt ?? 0) <= now)
        .sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0))
        .slice(0, limit);
    },
    fileLost: () => null,
    lastFailures(lanes) {
      const last = new Map<string, QueueRow>();
      for (const r of rows.values()) {
        if (r.state !== 'retry' || r.exitCode === null || !inLanes(r, lanes)) continue;
        const key = `${r.remoteId}\0${r.root}`;
        if ((r.lastFailureAt ?? -1) > (last.get(key)?.lastFailureAt ?? -1)) last.set(key, r);
      }
      return [...last.values()].map((r) => ({
        remoteId: r.remoteId,
        root: r.root,
        failure: { exitCode: r.exitCode ?? 0, message: r.lastError ?? '' },
      }));
    },
    nextDueAt(lanes) {
      const times = waiting()
        .filter((r) => inLanes(r, lanes))
        .map((r) => r.nextAttemptAt ?? 0);
      return times.length === 0 ? null : Math.min(...times);
    },
    settleLane(remoteId, root, removals) {
      let n = 0;
      for (const [k, r] of rows) {
        if (r.remoteId !== remoteId || r.root !== root || r.state !== 'retry') continue;
        if (!removals && (r.op.kind === 'delete' || r.op.kind === 'move' || r.owesRemoval)) continue;
        rows.delete(k);
        n++;
      }
      return n;
    },
    leave(batch, now = Date.now()) {
      for (const [k, r] of rows)
        if (r.batch === batch && r.state === 'inflight')
          rows.set(k, { ...r, state: 'retry', nextAttemptAt: now });
    },
    recoverInflight(now = Date.now()) {
      let n = 0;
      for (const [k, r] of rows) {
        if (r.state !== 'inflight') continue;
        rows.set(k, { ...r, state: 'retry', nextAttemptAt: now });
        n++;
      }
      return n;
    },
    shiftTimes(deltaMs) {
      const shift = (t: number | null): number | null => (t === null ? null : t + deltaMs);
      for (const [k, r] of rows)
        rows.set(k, {
          ...r,
          firstFailureAt: shift(r.firstFailureAt),
          lastFailureAt: shift(r.lastFailureAt),
          nextAttemptAt: shift(r.nextAttemptAt),
        });
    },
    takeCleanStopMark() {
      const was = clean;
      clean = false;
      return was;
    },
    markCleanStop() {
      clean = true;
    },
    close() {
      rows.clear();
    },
  };
}

function inLanes(r: QueueRow, lanes: readonly LaneId[] | undefined): boolean {
  return lanes === undefined || lanes.some((l) => l.root === r.root && l.remoteId === r.remoteId);
}
