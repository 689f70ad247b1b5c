import type { PathOp } from '../coalesce/types.js';
import type { RelPath } from '../paths.js';

/** Why a dispatch failed: what rsync said. */
export interface Failure {
  /** rsync's exit code; -1 when it was killed by a signal, 127 when it could not be run. */
  readonly exitCode: number;
  /** rsync's last stderr line (or our own reason, e.g. `cannot read directory …`). */
  readonly message: string;
}

/** One (remote, tree, path) that has not reached its remote yet. */
export interface QueueRow {
  readonly id: number;
  readonly remoteId: string;
  /** The watched root the path belongs to. */
  readonly root: string;
  readonly op: PathOp;
  /** 'inflight': handed to rsync (or was, when a crash interrupted it); 'retry': failed, waiting. */
  readonly state: 'inflight' | 'retry';
  readonly attempts: number;
  readonly firstFailureAt: number | null;
  readonly lastFailureAt: number | null;
  readonly exitCode: number | null;
  readonly lastError: string | null;
  /** Epoch ms of the next attempt (retry rows). */
  readonly nextAttemptAt: number | null;
  /**
   * The row took over the row of a removal or a move of its path (the queue keeps one row per
   * path): that removal is owed too, and runs before the row's own op.
   */
  readonly owesRemoval: boolean;
}

/**
 * The durable record of work between the coalescer and the replica (SQLite, one writer: the
 * main thread). Every op is recorded before its rsync starts and forgotten when it succeeds,
 * so `kill -9` at any moment loses nothing. All methods are synchronous.
 */
/** A tree and one of its remotes: whose rows a replicator sends. */
export interface LaneId {
  readonly root: string;
  readonly remoteId: string;
}

export interface WorkStore {
  /**
   * Records ops about to be dispatched to one remote as one batch; returns the batch id. A row
   * already queued for the same (remote, root, path) is superseded (its attempts carry over). A
   * directory sent whole (`tree`, `move`) carries the queued sends below it, a directory's removal
   * every queued row below it (`adoptsBelow`): they join its batch, and its outcome settles them.
   * `seenAt` is when the oldest of these changes was seen (epoch ms, default now); a superseded row
   * keeps the earlier of its own and this one, so the lag of retried work counts from the change.
   */
  begin(remoteId: string, root: string, ops: readonly PathOp[], seenAt?: number): number;
  /** The batch reached the remote: its rows are removed. */
  succeed(batch: number): void;
  /**
   * The batch was begun by a process that stops before sending it (the work it leaves behind):
   * its rows are due at once, so the next start sends them, with their attempts as they were.
   */
  leave(batch: number, now?: number): void;
  /** The batch failed: its rows become retry rows with back-off (never dropped). */
  fail(batch: number, failure: Failure, now?: number): void;
  /**
   * The batch reached the remote except for these paths (rsync could not read them): their rows
   * fail, each with its own failure, as `fail` makes them; the others are removed as `succeed` does.
   */
  failPaths(batch: number, failures: ReadonlyMap<RelPath, Failure>, now?: number): void;
  /**
   * Retry rows due at `now` (oldest first), at most `limit`; they stay queued until begun again.
   * Rows of a tree and remote whose full sync is in flight wait for its outcome. With `lanes`,
   * only theirs: rows of a tree or remote no longer in the config neither starve theirs nor keep
   * the next retry due.
   */
  due(now: number, limit: number, lanes?: readonly LaneId[]): QueueRow[];
  /** Epoch ms of the earliest retry that `due` would return (for `lanes`), or null. */
  nextDueAt(lanes?: readonly LaneId[]): number | null;
  /** Per lane with retry rows (of `lanes`), the failure of the row that failed last: what its remote last said. */
  lastFailures(lanes?: readonly LaneId[]): (LaneId & { readonly failure: Failure })[];
  /**
   * A full sync of `root` reached `remoteId` carrying every path of the tree as it is now: its
   * retry rows are settled (removed). Without `removals` (it went without `--delete`, refused by
   * the remote) the rows that owe a removal (deletes, moves, rows that took a removal's place) stay.
   * Returns how many.
   */
  settleLane(remoteId: string, root: string, removals: boolean): number;
  /** Rows left 'inflight' by a process that died: made due now. Returns how many. */
  recoverInflight(now?: number): number;
  /**
   * The wall clock was stepped by `deltaMs`: every time the rows hold moves with it, so their waits
   * and ages stay what they were.
   */
  shiftTimes(deltaMs: number): void;
  /**
   * Whether the previous process stopped cleanly (true for a new store: there was none); clears
   * the mark, which `markCleanStop` sets again. A false answer means work may have been lost in memory
   * (or on disk: a `-wal` lost after a kill), and the caller resyncs.
   */
  takeCleanStopMark(): boolean;
  /**
   * Null while the file the store opened is still at its path; else why not (removed or replaced
   * while running: what it holds would be gone at the next start). A stop is not marked clean then,
   * and the running marker is put back beside the path if it went too, so the next start resyncs.
   */
  fileLost(): string | null;
  markCleanStop(): void;
  close(): void;
}

/** Which rows `list` returns (all filters optional). */
export interface QueueFilter {
  readonly remoteId?: string;
  /** Rows whose path starts with these bytes (a byte string, like `PathOp.path`). */
  readonly pathPrefix?: string;
  readonly limit?: number;
}

export interface QueueStats {
  readonly inflight: number;
  readonly retry: number;
  readonly byRemote: readonly { readonly remoteId: string; readonly count: number }[];
  /** Failed rows grouped by rsync's exit code (rows that never failed are not counted). */
  readonly byExitCode: readonly { readonly exitCode: number; readonly count: number }[];
  /** Epoch ms of the oldest first failure still queued, or null. */
  readonly oldestFailureAt: number | null;
}

/** A retry row brought in from outside (a legacy sersync fail log): due at once. */
export interface ImportedRow {
  readonly remoteId: string;
  readonly root: string;
  readonly op: PathOp;
  readonly attempts: number;
  readonly failure: Failure;
}

/** The retry queue's share of one tree's lane to one remote. */
export interface LaneRetries {
  readonly remoteId: string;
  readonly root: string;
  /** Failed operations waiting for their next attempt. */
  readonly count: number;
  /**
   * When the oldest change among its rows (waiting, or being sent or retried) was seen, or null: the
   * first failure for a row written by a release that did not record it.
   */
  readonly oldestSeenAt: number | null;
}

/**
 * The store plus what operators and the fail-log mirror need: inspection and manual
 * retry/drop. Safe to use from a second process (the CLI) while the daemon writes.
 */
export interface QueueStore extends WorkStore {
  list(filter?: QueueFilter): QueueRow[];
  get(id: number): QueueRow | null;
  stats(): QueueStats;
  /** Rows that have failed at least `minAttempts` times, oldest first. */
  failedAtLeast(minAttempts: number): QueueRow[];
  /** Retry rows (failed, waiting for their next attempt) per remote and tree, for status and metrics. */
  retriesByLane(): LaneRetries[];
  /** Retry rows (all, or those ids) become due at `now`; returns how many. Inflight rows are left alone. */
  makeDue(ids: readonly number[] | 'all', now?: number): number;
  /** Removes rows (all, or those ids) for good; returns how many. */
  drop(ids: readonly number[] | 'all'): number;
  /** Adds due-now retry rows; a key already queued is left as it is. Returns how many were added. */
  importRows(rows: readonly ImportedRow[], now?: number): number;
  /** Small durable notes of the queue's users (e.g. what the fail-log mirror last wrote). */
  getMeta(key: string): string | null;
  setMeta(key: string, value: string): void;
}
