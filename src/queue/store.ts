import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, openSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PathOp, PathOpKind } from '../coalesce/types.js';
import { ensureOwnDir } from '../owned-files.js';
import { fromBytes, pathBytes, type RelPath } from '../paths.js';
import { adoptsBelow } from './carries.js';
import { FAIL_LOG_MIN_ATTEMPTS, longestRetryDelayMs, retryDelayMs } from './retry-policy.js';
import { SersyncError } from '../errors.js';
import { migrate } from './schema.js';
import { sqliteAddon } from './sqlite-addon.js';
import type {
  Failure,
  ImportedRow,
  LaneId,
  LaneRetries,
  QueueFilter,
  QueueRow,
  QueueStats,
  QueueStore,
} from './types.js';

export interface WorkStoreOptions {
  /** The clock (epoch ms); tests inject one. */
  readonly now?: () => number;
  /** `failLog timeToExecute`: the longest wait between retries (default 60, sersync's default). */
  readonly maxIntervalMinutes?: number;
  /**
   * Called with the rows that belong in sersync's fail log (failed at least twice) after an
   * outcome may have changed that set: a failure, a success, a drop or an import.
   */
  readonly onFailLogRowsChange?: (rows: readonly QueueRow[]) => void;
  /**
   * Only reads follow (`queue list`): a write lock held elsewhere is no reason to refuse. Writers
   * get an error at open instead of a stall at their first write.
   */
  readonly readOnly?: boolean;
  /**
   * How long a write waits for a lock held elsewhere once the queue is open (at open: 5 s). The
   * daemon writes on its event loop, which such a wait freezes, so it passes a short one and
   * tries the batch again later.
   */
  readonly busyTimeoutMs?: number | undefined;
}

/**
 * A retry row waits while a full sync of its tree to its remote is in flight (a 'full' row,
 * path '', inflight): that run carries the path as it is now, and its outcome settles the row
 * (`settleLane`) or, if it fails, leaves it due again. Sending it meanwhile would send it twice.
 */
const NOT_UNDER_FULL_SYNC = `NOT EXISTS (SELECT 1 FROM work AS f WHERE f.remote = work.remote
  AND f.root = work.root AND f.path = x'' AND f.kind = 'full' AND f.state = 'inflight')`;

/** The row is one of the lanes given as JSON (two parameters: the same JSON or NULL twice). */
const IN_LANES = `(? IS NULL OR EXISTS (SELECT 1 FROM json_each(?) AS l
  WHERE l.value ->> 0 = work.remote AND l.value ->> 1 = work.root))`;

function lanesJson(lanes: readonly LaneId[] | undefined): string | null {
  return lanes === undefined ? null : JSON.stringify(lanes.map((l) => [l.remoteId, l.root]));
}

/** Longer rsync error lines are cut: the row keeps what an operator needs, not a whole dump. */
const MAX_ERROR_CHARS = 1000;
const BUSY_TIMEOUT_MS = 5000;

/** One `work` row as SQLite returns it. */
interface WorkRecord {
  readonly id: number;
  readonly remote: string;
  readonly root: string;
  readonly path: Buffer;
  readonly kind: PathOpKind;
  readonly is_dir: number;
  readonly from_path: Buffer | null;
  readonly state: 'inflight' | 'retry';
  readonly attempts: number;
  readonly first_failure_at: number | null;
  readonly last_failure_at: number | null;
  readonly exit_code: number | null;
  readonly last_error: string | null;
  readonly next_attempt_at: number | null;
  readonly owes_removal: number;
}

/** The op columns of a row. */
interface OpColumns {
  readonly path: Buffer;
  readonly kind: PathOpKind;
  readonly isDir: number;
  readonly from: Buffer | null;
}

function opColumns(op: PathOp): OpColumns {
  const path = pathBytes(op.path);
  switch (op.kind) {
    case 'delete':
      return { path, kind: op.kind, isDir: op.isDir ? 1 : 0, from: null };
    case 'move':
      return { path, kind: op.kind, isDir: 1, from: pathBytes(op.from) };
    case 'sync':
    case 'tree':
    case 'full':
      return { path, kind: op.kind, isDir: op.kind === 'tree' ? 1 : 0, from: null };
  }
}

function toOp(r: WorkRecord): PathOp {
  const path = fromBytes(r.path);
  switch (r.kind) {
    case 'sync':
    case 'tree':
      return { kind: r.kind, path };
    case 'delete':
      return { kind: 'delete', path, isDir: r.is_dir !== 0 };
    case 'move':
      return { kind: 'move', path, from: fromBytes(r.from_path ?? Buffer.alloc(0)) };
    case 'full':
      return { kind: 'full', path: '' };
  }
}

function toRow(r: WorkRecord): QueueRow {
  return {
    id: r.id,
    remoteId: r.remote,
    root: r.root,
    op: toOp(r),
    state: r.state,
    attempts: r.attempts,
    firstFailureAt: r.first_failure_at,
    lastFailureAt: r.last_failure_at,
    exitCode: r.exit_code,
    lastError: r.last_error,
    nextAttemptAt: r.next_attempt_at,
    owesRemoval: r.owes_removal !== 0,
  };
}

/** Creates the file owner-only before SQLite does (SQLite gives its WAL files the same mode). */
function createPrivate(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
}

/** fsyncs `path` (a file or a directory, whose entries then survive a power cut). */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The file that says a run of this queue is under way (`<queue>.running`): created, fsynced, when a
 * run takes the clean-stop mark, removed by its clean stop. It lives outside SQLite on purpose: a
 * run killed with its `-wal` then lost or damaged leaves a main database that may still hold an
 * earlier run's mark (SQLite drops such a `-wal` without a word), but it leaves this file too.
 */
export function runningMarkerFor(file: string): string {
  return `${file}.running`;
}

/** Creates the running marker, durably: a crash right after still leaves it. */
function writeRunningMarker(marker: string): void {
  closeSync(openSync(marker, 'w', 0o600));
  fsyncPath(marker);
  fsyncPath(dirname(marker));
}

/**
 * Opens (creating or upgrading) the retry-queue database. WAL with `synchronous=NORMAL`: a crash
 * of the process loses nothing; a power cut may lose the last commits, which the next full
 * resync repairs. One writer (the daemon's main thread); the CLI's short writes wait on the
 * busy timeout.
 */
export function openWorkStore(file: string, opts: WorkStoreOptions = {}): QueueStore {
  let db: Database.Database | null = null;
  try {
    // SQLite takes an empty file for a new database, but this one lost its writes (truncated, or a
    // crash before the first): what it queued is unknown, so the start must not count as clean.
    const emptied = statSync(file, { throwIfNoEntry: false })?.size === 0;
    createPrivate(file);
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS, nativeBinding: sqliteAddon() });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const check = String(db.pragma('quick_check', { simple: true }));
    if (check !== 'ok') {
      // "*** in database main ***\nTree 2 page 2: btreeInitPage() returns error code 11\n…": the first finding
      const finding = check.split('\n').find((l) => !l.startsWith('***')) ?? check;
      throw Object.assign(new Error(finding), { code: 'SQLITE_CORRUPT' });
    }
    migrate(db, file);
    if (emptied && opts.readOnly !== true) db.prepare("DELETE FROM meta WHERE key = 'clean_stop'").run();
    // A writer must be able to write: a lock held elsewhere is an error now, not a stall later.
    if (opts.readOnly !== true) db.transaction(() => undefined).immediate();
    if (opts.busyTimeoutMs !== undefined) db.pragma(`busy_timeout = ${opts.busyTimeoutMs}`);
  } catch (err) {
    db?.close();
    throw openError(file, err);
  }
  return new SqliteWorkStore(db, file, opts);
}

/** Why the queue cannot be used, said so that the operator knows what to do. */
function openError(file: string, err: unknown): SersyncError {
  if (err instanceof SersyncError) return err;
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  const message = err instanceof Error ? err.message : String(err);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SersyncError(
      'ERR_SERSYNC_QUEUE_LOCKED',
      `${file}: the retry queue is locked by another process (another sersync2 with this config? ` +
        `a sqlite3 shell with a transaction open?); waited ${BUSY_TIMEOUT_MS / 1000} s`,
      { cause: err },
    );
  }
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) {
    return new SersyncError(
      'ERR_SERSYNC_QUEUE_DAMAGED',
      `${file}: the retry queue is damaged (${message}); nothing was changed. Stop sersync2, move the ` +
        `file aside with its -wal and -shm files (they list what was not sent yet), and start with -r: ` +
        `the full sync sends everything again`,
      { cause: err },
    );
  }
  return new SersyncError('ERR_SERSYNC_QUEUE_OPEN', `${file}: cannot open the retry queue: ${message}`, {
    cause: err,
  });
}

class SqliteWorkStore implements QueueStore {
  private readonly now: () => number;
  /** The database file as opened: whoever removes or replaces it takes the queue with it. */
  private readonly opened: { readonly dev: number; readonly ino: number };
  private readonly maxIntervalMinutes: number;
  private readonly onFailLogRowsChange: ((rows: readonly QueueRow[]) => void) | undefined;

  private readonly nextBatchStmt;
  private readonly upsertStmt;
  private readonly deleteBatchStmt;
  private readonly batchRowsStmt;
  private readonly failRowStmt;
  private readonly deleteRowStmt;
  private readonly adoptBelowStmt;
  private readonly dueStmt;
  private readonly nextDueStmt;
  private readonly lastFailuresStmt;
  private readonly shiftStmt;
  private readonly settleLaneStmt;
  private readonly leaveStmt;
  private readonly recoverStmt;
  private readonly getMetaStmt;
  private readonly setMetaStmt;
  private readonly deleteMetaStmt;
  private readonly getStmt;
  private readonly failedAtLeastStmt;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    opts: WorkStoreOptions,
  ) {
    this.now = opts.now ?? Date.now;
    const st = statSync(file);
    this.opened = { dev: st.dev, ino: st.ino };
    this.maxIntervalMinutes = opts.maxIntervalMinutes ?? 60;
    this.onFailLogRowsChange = opts.onFailLogRowsChange;

    this.nextBatchStmt = db
      .prepare<[], number>(`UPDATE meta SET value = value + 1 WHERE key = 'last_batch' RETURNING value`)
      .pluck();
    this.upsertStmt = db.prepare<[string, string, Buffer, PathOpKind, number, Buffer | null, number, number]>(
      `INSERT INTO work (remote, root, path, kind, is_dir, from_path, state, batch, owes_removal, seen_at)
       VALUES (?, ?, ?, ?, ?, ?, 'inflight', ?, 0, ?)
       ON CONFLICT (remote, root, path) DO UPDATE SET
         kind = excluded.kind, is_dir = excluded.is_dir, from_path = excluded.from_path,
         state = 'inflight', batch = excluded.batch, next_attempt_at = NULL,
         seen_at = coalesce(min(work.seen_at, excluded.seen_at), excluded.seen_at),
         owes_removal = CASE WHEN work.kind IN ('delete', 'move') THEN 1 ELSE work.owes_removal END`,
    );
    this.deleteBatchStmt = db
      .prepare<[number], number>(`DELETE FROM work WHERE batch = ? RETURNING attempts`)
      .pluck();
    this.batchRowsStmt = db.prepare<[number], { id: number; attempts: number; path: Buffer }>(
      `SELECT id, attempts, path FROM work WHERE batch = ? AND state = 'inflight'`,
    );
    this.deleteRowStmt = db.prepare<[number]>(`DELETE FROM work WHERE id = ?`);
    // The 7th parameter is 1 when every row below is adopted, 0 for the sends only (`adoptsBelow`).
    this.adoptBelowStmt = db.prepare<[number, string, string, Buffer, Buffer, Buffer, number]>(
      `UPDATE work SET state = 'inflight', batch = ?, next_attempt_at = NULL
       WHERE remote = ? AND root = ? AND state = 'retry'
         AND length(path) > length(?) AND substr(path, 1, length(?)) = ?
         AND (? = 1 OR kind IN ('sync', 'tree', 'move'))`,
    );
    this.failRowStmt = db.prepare<[number, number, number, number, string, number, number]>(
      `UPDATE work SET state = 'retry', attempts = ?, first_failure_at = coalesce(first_failure_at, ?),
         last_failure_at = ?, exit_code = ?, last_error = ?, next_attempt_at = ?
       WHERE id = ?`,
    );
    // The lanes as JSON ([[remote, root], …]), or NULL for every row.
    this.dueStmt = db.prepare<[number, number, string | null, string | null, number], WorkRecord>(
      `SELECT * FROM work WHERE state = 'retry' AND (next_attempt_at <= ? OR next_attempt_at > ?)
         AND ${NOT_UNDER_FULL_SYNC}
         AND ${IN_LANES}
       ORDER BY next_attempt_at, id LIMIT ?`,
    );
    this.nextDueStmt = db
      .prepare<[string | null, string | null], number | null>(
        `SELECT min(next_attempt_at) FROM work WHERE state = 'retry' AND ${NOT_UNDER_FULL_SYNC}
           AND ${IN_LANES}`,
      )
      .pluck();
    // SQLite takes a bare column from the row that holds the max(): the last failure's own line.
    this.lastFailuresStmt = db.prepare<
      [string | null, string | null],
      { remoteId: string; root: string; exitCode: number; message: string | null; at: number }
    >(
      `SELECT remote AS remoteId, root, exit_code AS exitCode, last_error AS message,
              max(last_failure_at) AS at
       FROM work WHERE state = 'retry' AND exit_code IS NOT NULL AND ${IN_LANES}
       GROUP BY remote, root`,
    );
    // NULL + Δ stays NULL: a row that never failed has no failure times.
    this.shiftStmt = db.prepare<{ d: number }>(
      `UPDATE work SET seen_at = seen_at + @d, next_attempt_at = next_attempt_at + @d,
         first_failure_at = first_failure_at + @d, last_failure_at = last_failure_at + @d`,
    );
    this.settleLaneStmt = db
      .prepare<[string, string, number], number>(
        `DELETE FROM work WHERE remote = ? AND root = ? AND state = 'retry'
           AND (? OR (kind NOT IN ('delete', 'move') AND owes_removal = 0)) RETURNING attempts`,
      )
      .pluck();
    this.leaveStmt = db.prepare<[number, number]>(
      `UPDATE work SET state = 'retry', next_attempt_at = ? WHERE batch = ? AND state = 'inflight'`,
    );
    this.recoverStmt = db.prepare<[number]>(
      `UPDATE work SET state = 'retry', next_attempt_at = ? WHERE state = 'inflight'`,
    );
    this.getMetaStmt = db
      .prepare<[string], string | number | null>(`SELECT value FROM meta WHERE key = ?`)
      .pluck();
    this.setMetaStmt = db.prepare<[string, string]>(
      `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    );
    this.deleteMetaStmt = db.prepare<[string]>(`DELETE FROM meta WHERE key = ?`);
    this.getStmt = db.prepare<[number], WorkRecord>(`SELECT * FROM work WHERE id = ?`);
    this.failedAtLeastStmt = db.prepare<[number], WorkRecord>(
      `SELECT * FROM work WHERE attempts >= ? ORDER BY id`,
    );
  }

  begin(remoteId: string, root: string, ops: readonly PathOp[], seenAt = this.now()): number {
    return this.db.transaction(() => {
      const batch = this.nextBatchStmt.get();
      if (batch === undefined) throw new Error('queue meta row last_batch is missing');
      for (const op of ops) {
        const c = opColumns(op);
        this.upsertStmt.run(remoteId, root, c.path, c.kind, c.isDir, c.from, batch, seenAt);
        const adopts = adoptsBelow(op);
        if (adopts !== null) {
          const prefix = Buffer.concat([c.path, Buffer.from('/')]);
          this.adoptBelowStmt.run(batch, remoteId, root, prefix, prefix, prefix, adopts === 'all' ? 1 : 0);
        }
      }
      return batch;
    })();
  }

  succeed(batch: number): void {
    const attempts = this.deleteBatchStmt.all(batch);
    if (attempts.some((a) => a >= FAIL_LOG_MIN_ATTEMPTS)) this.failLogChanged();
  }

  leave(batch: number, now = this.now()): void {
    this.leaveStmt.run(now, batch);
  }

  fail(batch: number, failure: Failure, now = this.now()): void {
    this.failRows(batch, () => failure, now);
  }

  failPaths(batch: number, failures: ReadonlyMap<RelPath, Failure>, now = this.now()): void {
    const byHex = new Map([...failures].map(([p, f]) => [pathBytes(p).toString('hex'), f]));
    this.failRows(batch, (path) => byHex.get(path.toString('hex')), now);
  }

  /** Fails the batch's rows with their failure (`failureOf`); removes those that have none. */
  private failRows(batch: number, failureOf: (path: Buffer) => Failure | undefined, now: number): void {
    const touched = this.db.transaction(() => {
      const inBatch = this.batchRowsStmt.all(batch);
      for (const r of inBatch) {
        const failure = failureOf(r.path);
        if (failure === undefined) {
          this.deleteRowStmt.run(r.id);
          continue;
        }
        const attempts = r.attempts + 1;
        const next = now + retryDelayMs(attempts, this.maxIntervalMinutes, failure);
        const message = failure.message.slice(0, MAX_ERROR_CHARS);
        this.failRowStmt.run(attempts, now, now, failure.exitCode, message, next, r.id);
      }
      return inBatch;
    })();
    // A failed row may enter the fail log, a removed one may leave it.
    if (touched.some((r) => r.attempts + 1 >= FAIL_LOG_MIN_ATTEMPTS)) this.failLogChanged();
  }

  due(now: number, limit: number, lanes?: readonly LaneId[]): QueueRow[] {
    const l = lanesJson(lanes);
    const latest = now + longestRetryDelayMs(this.maxIntervalMinutes);
    return this.dueStmt.all(now, latest, l, l, limit).map(toRow);
  }

  nextDueAt(lanes?: readonly LaneId[]): number | null {
    const l = lanesJson(lanes);
    return this.nextDueStmt.get(l, l) ?? null;
  }

  lastFailures(lanes?: readonly LaneId[]): (LaneId & { readonly failure: Failure })[] {
    const l = lanesJson(lanes);
    return this.lastFailuresStmt.all(l, l).map((r) => ({
      remoteId: r.remoteId,
      root: r.root,
      failure: { exitCode: r.exitCode, message: r.message ?? '' },
    }));
  }

  settleLane(remoteId: string, root: string, removals: boolean): number {
    const attempts = this.settleLaneStmt.all(remoteId, root, removals ? 1 : 0);
    if (attempts.some((a) => a >= FAIL_LOG_MIN_ATTEMPTS)) this.failLogChanged();
    return attempts.length;
  }

  recoverInflight(now = this.now()): number {
    return this.recoverStmt.run(now).changes;
  }

  /** Clean only when the database holds the mark and no earlier run left its running marker. */
  takeCleanStopMark(): boolean {
    const marker = runningMarkerFor(this.file);
    const runLeftBehind = existsSync(marker);
    const mark = this.db.transaction(() => {
      const value = this.getMetaStmt.get('clean_stop');
      this.deleteMetaStmt.run('clean_stop');
      return value;
    })();
    writeRunningMarker(marker);
    return mark !== undefined && !runLeftBehind;
  }

  fileLost(): string | null {
    const st = statSync(this.file, { throwIfNoEntry: false });
    if (st !== undefined && st.dev === this.opened.dev && st.ino === this.opened.ino) return null;
    this.keepRunningMarker();
    return (
      `the retry queue ${this.file} was ${st === undefined ? 'removed' : 'replaced'} while running: ` +
      'what it holds is lost at the next start, which resyncs every tree'
    );
  }

  /**
   * With the database lost, the running marker is what makes the next start resync (a database
   * created at its place starts out marked clean): put back when it went too (its whole state
   * directory removed), once the directory is there again.
   */
  private keepRunningMarker(): void {
    const marker = runningMarkerFor(this.file);
    if (existsSync(marker) || !existsSync(dirname(marker))) return;
    try {
      writeRunningMarker(marker);
    } catch {
      // tried again at the next look; the loss is reported all the same
    }
  }

  /**
   * The mark goes into the main database file (a full checkpoint, the `-wal` emptied), then the
   * running marker goes: a `-wal` lost after this loses nothing. When the checkpoint cannot
   * complete (a reader in the way), the marker stays and the next start resyncs.
   * @throws when the mark could not be made durable.
   */
  markCleanStop(): void {
    const lost = this.fileLost();
    if (lost !== null) {
      // removed with its directory just now: the marker needs the directory back first
      ensureOwnDir(dirname(this.file), 'state directory');
      this.keepRunningMarker();
      throw new Error(lost); // the next start resyncs
    }
    this.setMetaStmt.run('clean_stop', new Date(this.now()).toISOString());
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result?.busy !== 0)
      throw new Error('another process reads the queue: its -wal could not be checkpointed');
    rmSync(runningMarkerFor(this.file), { force: true });
    fsyncPath(dirname(this.file));
  }

  close(): void {
    this.db.close();
  }

  list(filter: QueueFilter = {}): QueueRow[] {
    const where = filter.remoteId === undefined ? '' : 'WHERE remote = ?';
    const params = filter.remoteId === undefined ? [] : [filter.remoteId];
    const records = this.db
      .prepare<string[], WorkRecord>(
        `SELECT * FROM work ${where}
         ORDER BY last_failure_at IS NULL, last_failure_at DESC, id DESC`,
      )
      .iterate(...params);
    const prefix = filter.pathPrefix === undefined ? null : pathBytes(filter.pathPrefix);
    const limit = filter.limit ?? Infinity;
    const rows: QueueRow[] = [];
    for (const r of records) {
      if (rows.length >= limit) break;
      if (prefix === null || r.path.subarray(0, prefix.length).equals(prefix)) rows.push(toRow(r));
    }
    return rows;
  }

  get(id: number): QueueRow | null {
    const r = this.getStmt.get(id);
    return r === undefined ? null : toRow(r);
  }

  stats(): QueueStats {
    const states = this.db
      .prepare<[], { state: 'inflight' | 'retry'; n: number }>(
        `SELECT state, count(*) AS n FROM work GROUP BY state`,
      )
      .all();
    const count = (s: 'inflight' | 'retry'): number => states.find((x) => x.state === s)?.n ?? 0;
    return {
      inflight: count('inflight'),
      retry: count('retry'),
      byRemote: this.db
        .prepare<[], { remoteId: string; count: number }>(
          `SELECT remote AS remoteId, count(*) AS count FROM work GROUP BY remote ORDER BY count DESC, remote`,
        )
        .all(),
      byExitCode: this.db
        .prepare<[], { exitCode: number; count: number }>(
          `SELECT exit_code AS exitCode, count(*) AS count FROM work WHERE exit_code IS NOT NULL
           GROUP BY exit_code ORDER BY count DESC, exit_code`,
        )
        .all(),
      oldestFailureAt:
        this.db.prepare<[], number | null>(`SELECT min(first_failure_at) FROM work`).pluck().get() ?? null,
    };
  }

  failedAtLeast(minAttempts: number): QueueRow[] {
    return this.failedAtLeastStmt.all(minAttempts).map(toRow);
  }

  retriesByLane(): LaneRetries[] {
    return this.db
      .prepare<[], LaneRetries>(
        `SELECT remote AS remoteId, root, sum(state = 'retry') AS count,
                min(coalesce(seen_at, first_failure_at)) AS oldestSeenAt
         FROM work GROUP BY remote, root ORDER BY remote, root`,
      )
      .all();
  }

  shiftTimes(deltaMs: number): void {
    this.shiftStmt.run({ d: deltaMs });
  }

  makeDue(ids: readonly number[] | 'all', now = this.now()): number {
    const sql = `UPDATE work SET next_attempt_at = ? WHERE state = 'retry'`;
    if (ids === 'all') return this.db.prepare<[number]>(sql).run(now).changes;
    const one = this.db.prepare<[number, number]>(`${sql} AND id = ?`);
    return this.db.transaction(() => ids.reduce((n, id) => n + one.run(now, id).changes, 0))();
  }

  drop(ids: readonly number[] | 'all'): number {
    const sql = `DELETE FROM work`;
    const dropped =
      ids === 'all'
        ? this.db.prepare<[]>(sql).run().changes
        : this.db.transaction(() => {
            const one = this.db.prepare<[number]>(`${sql} WHERE id = ?`);
            return ids.reduce((n, id) => n + one.run(id).changes, 0);
          })();
    if (dropped > 0) this.failLogChanged();
    return dropped;
  }

  importRows(rows: readonly ImportedRow[], now = this.now()): number {
    const insert = this.db.prepare<
      [
        string,
        string,
        Buffer,
        PathOpKind,
        number,
        Buffer | null,
        number,
        number,
        number,
        number,
        string,
        number,
      ]
    >(
      `INSERT INTO work (remote, root, path, kind, is_dir, from_path, state, batch, attempts,
                         first_failure_at, last_failure_at, exit_code, last_error, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, 'retry', 0, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (remote, root, path) DO NOTHING`,
    );
    const added = this.db.transaction(() =>
      rows.reduce((n, r) => {
        const c = opColumns(r.op);
        const { exitCode, message } = r.failure;
        return (
          n +
          insert.run(
            r.remoteId,
            r.root,
            c.path,
            c.kind,
            c.isDir,
            c.from,
            r.attempts,
            now,
            now,
            exitCode,
            message,
            now,
          ).changes
        );
      }, 0),
    )();
    if (added > 0) this.failLogChanged();
    return added;
  }

  getMeta(key: string): string | null {
    const value = this.getMetaStmt.get(key);
    return value === undefined || value === null ? null : String(value);
  }

  setMeta(key: string, value: string): void {
    this.setMetaStmt.run(key, value);
  }

  private failLogChanged(): void {
    this.onFailLogRowsChange?.(this.failedAtLeast(FAIL_LOG_MIN_ATTEMPTS));
  }
}
