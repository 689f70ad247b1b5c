import { lstatSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { backoffMs } from '../backoff.js';
import { Coalescer, MAX_PENDING } from '../coalesce/coalescer.js';
import { isPrune, type PathOp } from '../coalesce/types.js';
import { remoteKind } from '../config/remote-kinds.js';
import type { Config, Remote } from '../config/types.js';
import type { Change, CoalescedChange } from '../filter/changes.js';
import { HeldFiles, NAME_SETTLE_MS } from '../filter/held-files.js';
import { UnclosedFiles } from '../filter/unclosed-files.js';
import { filterSpecOf, type FilterSpec } from '../filter/path-filter.js';
import { isTempFileName } from '../filter/temp-files.js';
import type { Logger } from '../log/logger.js';
import { baseName, displayPath, parentOf, type RelPath } from '../paths.js';
import type { Failure, WorkStore } from '../queue/types.js';
import { errorText } from '../errors.js';
import {
  busyLimit,
  CLOSED_ON_REMOVALS,
  closedAfterAnswer,
  daemonRefusedPaths,
  describeExit,
  failsOnlyItsRun,
  reachedRemote,
  refusedByPolicy,
  SOURCE_UNUSABLE,
} from './exit-codes.js';
import { recordReplica, type LocalReplica } from './local-replica.js';
import { failureOf, partialOutcome, type OwnRow } from './outcome.js';
import { worthRebuilding } from './move-worth.js';
import { moveWaves, planMove, planRuns } from './plan.js';
import { fileToSetAside, withoutSetAside, type SetAside } from './set-aside.js';
import { NANO_WINDOW } from './time-window.js';
import { concession, type Conceded, type Concession } from './concessions.js';
import type { RsyncPool } from './pool.js';
import type { DirIdentity, RootSource } from './root-identity.js';
import { rerunWhileBusy } from './busy-rerun.js';
import { rsyncRunsOf, type FileSignature, type RsyncResult, type RsyncTask } from './task.js';
import { absoluteBytes } from './walk.js';

export interface BatchReport {
  readonly root: string;
  readonly remote: Remote;
  readonly ops: readonly PathOp[];
  readonly results: readonly RsyncResult[];
  /** null when every run succeeded. */
  readonly failure: Failure | null;
  /** Of `ops`, how many failed (the others arrived): all of them, or some (see `failPaths`). */
  readonly failedOps: number;
  /** What its runs went without that their remote refused (see `concessions.ts`). */
  readonly conceded: Conceded;
  readonly durationMs: number;
}

/** What a lane has done since start, for `sersync2 status` and /metrics. */
export interface LaneStats {
  batches: number;
  failedBatches: number;
  rsyncRuns: number;
  filesSent: number;
  bytesSent: number;
  lastSuccessAt: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
  /** When a batch with a full sync of the tree last succeeded. */
  lastFullSyncAt: number | null;
  /** Files whose send waits because their name looks temporary (they are sent if they stay). */
  delayedByName: number;
  /**
   * Files whose writer has not closed them yet (created, or written in place): sent when it does,
   * or once they stay unchanged for a second (see UnclosedFiles).
   */
  awaitingClose: number;
  /** Of those, the one held longest (its path as shown) and since when, or null. */
  longestAwaitingClose: { readonly path: string; readonly since: number } | null;
  /**
   * Since when batches cannot be recorded in the retry queue (locked by another process past
   * SQLite's wait, a full or read-only disk): their changes wait in memory. Null once one is.
   */
  queueFailingSince: number | null;
  /** Why the last batch could not be recorded, while `queueFailingSince` is set. */
  queueError: string | null;
  /**
   * Files and directories the remote's rsync daemon refused to receive, its module excluding them
   * (rsyncd.conf's `exclude` or `filter`): by its policy they are not on the replica.
   */
  daemonRefused: number;
  /** The last of them (its path as shown) and when. */
  lastDaemonRefused: { readonly path: string; readonly at: number } | null;
  /**
   * New directories sent whole whose prune the remote's rsync daemon refused (its `refuse options`):
   * what their copies held that the source has not (sent by a walk before its removal came in) may
   * stay on the replica.
   */
  pruneRefused: number;
  /** The last of them (its path as shown) and when. */
  lastPruneRefused: { readonly path: string; readonly at: number } | null;
  /**
   * rsync runs the remote's daemon refused as busy, its module's `max connections` taken (most
   * went again at once and arrived; see `busyRerunWaitMs`).
   */
  daemonBusy: number;
  /** The module's `max connections` the last of them named, and when. */
  lastDaemonBusy: { readonly limit: number; readonly at: number } | null;
  /**
   * How the last full sync that reached the remote compared modification times, and when: to the
   * second when the remote refused the nanosecond window (its rsync older than 3.1.3, or its daemon
   * refusing the option; see `time-window.ts`). Null before one, or when `commonParams` sets a window.
   */
  fullSyncWindow: { readonly window: 'second' | 'nanosecond'; readonly at: number } | null;
  /**
   * Whether the last full sync that reached the remote could remove what the tree has not, and when:
   * `refused` when its daemon's `refuse options` name `delete` and it went without `--delete` (see
   * `concessions.ts`). Null before one, or with `<delete start="false">`.
   */
  fullSyncRemovals: { readonly refused: boolean; readonly at: number } | null;
}

/** What the log says, once, of a full sync that went without what its remote refused. */
const CONCESSION_TOLD: Readonly<Record<Concession, string>> = {
  'nanosecond-window':
    "the remote refused a run with a nanosecond --modify-window and took it without (its rsync is older than 3.1.3, or its daemon's refuse options name modify-window): full syncs compare times to the second there, and miss a file rewritten at the same size within the second of the replica's copy",
  removals:
    "the remote's rsync daemon refuses --delete (its refuse options): full syncs go without it, so what was removed from the tree while sersync2 was stopped stays on the replica; removals wait in the retry queue",
};

/** Names a daemon refused that the log has told of, at most (each is told once while remembered). */
const MAX_REFUSED_TOLD = 4096;

export interface LaneContext {
  readonly config: Config;
  readonly root: string;
  /**
   * The real directory rsync runs in (the root as the watcher resolved it), checked at each
   * dispatch; null while the root cannot be trusted: the lane then holds its work until `resume()`.
   * Without it, rsync runs in `root`.
   */
  readonly source?: () => RootSource | null;
  /** Paths full syncs must leave alone now (see PlanContext.protect). */
  readonly protect?: () => readonly RelPath[];
  /**
   * Resolves once every change made in the tree so far has been pushed (see Watcher.settled). A
   * batch's walk may send a file whose event comes in after the batch landed: until then the
   * coalescer counts the batch as maybe holding it. Without it, changes are pushed as they happen.
   */
  readonly reported?: () => Promise<void>;
  readonly remote: Remote;
  /** A local remote's replica as the process recorded it; recorded when the lane begins if not. */
  readonly replica?: LocalReplica | undefined;
  readonly pool: RsyncPool;
  readonly store: WorkStore;
  /** Carries `root` and `remote` (a child logger): the lane's lines do not repeat them. */
  readonly log: Logger;
  /**
   * How long a change may wait for companions before an idle lane dispatches. A few ms is enough
   * for a program's create-write-rename of a temporary file to finish, so the temporary file is
   * coalesced away instead of sent, at no cost a person can notice.
   */
  readonly settleMs: number;
  /**
   * The first wait after a batch failed unexpectedly (its store locked or the disk full); it
   * doubles with each failure in a row, up to 30 s (default 1000).
   */
  readonly storeRetryMs?: number;
  readonly onBatch: (report: BatchReport) => void;
  /** How long a file with a temporary-looking name must stay unchanged before it is sent (default 2 s). */
  readonly nameSettleMs?: number;
  /**
   * Batches in flight at once, on disjoint paths (default: the pool's `-n`, at most one per CPU:
   * more rsyncs than cores only wait for each other).
   */
  readonly depth?: number;
  /**
   * How long changes gather before a batch goes beside others in flight (default 200 ms): a writer
   * still at work gets fewer, fuller runs, each an rsync session that costs it CPU and disk.
   */
  readonly sideSettleMs?: number;
}

/** See `LaneContext.sideSettleMs`. */
const SIDE_SETTLE_MS = 200;

/** The longest wait between two tries of a lane whose store keeps failing. */
const MAX_STORE_RETRY_MS = 30_000;

/** Walked files remembered for the double-send check (see `walked`): a miss costs only a re-send. */
const MAX_WALKED = 200_000;

/** A batch handed to rsync: its operations, its place in dispatch order, its oldest change. */
interface Flight {
  readonly ops: readonly PathOp[];
  readonly seq: number;
  /** Moves with a step of the wall clock (see shiftTimes). */
  since: number | null;
}

/**
 * The path from one tree to one remote. Group commit: when idle, the first change dispatches
 * after `settleMs` and takes everything ready. While batches are in flight, changes accumulate;
 * up to `depth` batches run at once, each on paths no other batch in flight touches, so a burst
 * is shipped while it is still being written and only a small tail remains after it; a path
 * whose batch is in flight waits for it to land, so nothing older lands after something newer.
 * Remotes have separate lanes, so one that is down delays nobody else.
 */
export class Lane {
  private readonly coalescer = new Coalescer();
  /**
   * Created files with no close_write yet, not looked at: a symlink, a hard link or a name linked
   * to an unnamed file never gets one.
   */
  private readonly unconfirmed = new Set<RelPath>();
  private readonly flights = new Set<Flight>();
  private readonly depth: number;
  private dispatched = 0;
  /**
   * Directories listed by batches that landed while others were in flight, with the newest
   * dispatch (seq) that listed each. A batch landing after a newer one that listed the same
   * directory has set that directory's attributes as they were before: it is sent again.
   */
  private readonly listedDirs = new Map<RelPath, number>();
  private timer: NodeJS.Timeout | null = null;
  /** The timer is for a batch beside others: one that may go alone goes sooner. */
  private timerBeside = false;
  private stopped = false;
  /**
   * Files that landed batches' tree walks sent, with their signatures, until a batch lists them
   * (see `RsyncInput`); forgotten when a batch starts with nothing else in flight.
   */
  private readonly walked = new Map<RelPath, FileSignature>();
  /** Batches in a row that failed unexpectedly: the next try waits longer each time. */
  private storeFailures = 0;
  private idleWaiters: (() => void)[] = [];
  /** When the oldest change pending was seen (epoch ms). */
  private pendingSince: number | null = null;
  /** What `stats` reports but the held files' counts, which are read from them. */
  private readonly counts: Omit<LaneStats, 'delayedByName' | 'awaitingClose' | 'longestAwaitingClose'> = {
    batches: 0,
    failedBatches: 0,
    rsyncRuns: 0,
    filesSent: 0,
    bytesSent: 0,
    lastSuccessAt: null,
    lastFailureAt: null,
    lastError: null,
    lastFullSyncAt: null,
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
  };
  private readonly refusedTold = new Set<RelPath>();
  private pruneRefusalTold = false;
  private busyTold = false;
  private readonly concessionsTold = new Set<Concession>();
  /** Files whose name looks temporary, held until they stay (see HeldFiles). */
  private readonly nameDelay: HeldFiles;
  /** Files whose writer has not closed them, held until it does or nobody writes them. */
  private readonly unclosed: UnclosedFiles;
  private readonly looksTemporary: (name: string) => boolean;

  /** A local remote's replica, with the file system it was on when the lane began (see `LocalReplica`). */
  readonly replica: LocalReplica | undefined;
  /** The tree's filter, as every run of this lane carries it. */
  private readonly filter: FilterSpec;

  constructor(private readonly ctx: LaneContext) {
    const { replica } = remoteKind(ctx.remote);
    this.replica = replica === null ? undefined : (ctx.replica ?? recordReplica(replica));
    this.depth = Math.max(1, ctx.depth ?? Math.min(ctx.pool.maxConcurrent, availableParallelism()));
    this.filter = filterSpecOf(ctx.config, ctx.root);
    this.looksTemporary = ctx.config.tempFiles.builtin ? isTempFileName : (): boolean => false;
    const released = (path: RelPath, stays: boolean, since: number): void => {
      if (stays) {
        // its change is as old as the hold: the lag keeps saying so until it lands
        this.pendingSince = Math.min(this.pendingSince ?? since, since);
        this.coalescer.apply({ kind: 'sync', path });
      }
      this.schedule();
    };
    this.nameDelay = new HeldFiles(ctx.root, released, ctx.nameSettleMs ?? NAME_SETTLE_MS);
    this.unclosed = new UnclosedFiles(
      ctx.root,
      {
        closeWrite: ctx.config.inotify.closeWrite,
        looksTemporary: (path) => this.looksTemporary(displayPath(baseName(path))),
      },
      released,
    );
  }

  get remote(): Remote {
    return this.ctx.remote;
  }

  get root(): string {
    return this.ctx.root;
  }

  /**
   * Operations waiting for dispatch, files held (for their temporary-looking name, or still being
   * written) included: a stop queues them for the next start (see stop).
   */
  get pending(): number {
    return this.coalescer.size + this.unconfirmed.size + this.nameDelay.size + this.unclosed.size;
  }

  /** What the lane has done, and the files it holds now. */
  get stats(): LaneStats {
    const longest = this.unclosed.oldest();
    return {
      ...this.counts,
      delayedByName: this.nameDelay.size,
      awaitingClose: this.unclosed.size,
      longestAwaitingClose:
        longest === null ? null : { path: displayPath(longest.path), since: longest.since },
    };
  }

  get busy(): boolean {
    return this.flights.size > 0;
  }

  /** When the oldest change not yet on the remote (pending or in flight) was seen, or null. */
  get oldestChangeAt(): number | null {
    let oldest = this.pendingSince;
    for (const held of [this.nameDelay.oldest(), this.unclosed.oldest()])
      if (held !== null && (oldest === null || held.since < oldest)) oldest = held.since;
    for (const f of this.flights)
      if (f.since !== null && (oldest === null || f.since < oldest)) oldest = f.since;
    return oldest;
  }

  /**
   * The wall clock stepped by `deltaMs` (see Replicator.followClockStep): when each change still
   * waiting was seen moves with it, so the lag stays what it was.
   */
  shiftTimes(deltaMs: number): void {
    if (this.pendingSince !== null) this.pendingSince += deltaMs;
    for (const f of this.flights) if (f.since !== null) f.since += deltaMs;
    this.nameDelay.shiftTimes(deltaMs);
    this.unclosed.shiftTimes(deltaMs);
  }

  /** Operations waiting or in flight (see Coalescer.outstanding). */
  outstanding(): PathOp[] {
    return this.coalescer.outstanding();
  }

  push(change: Change): void {
    if (change.kind === 'written') {
      // a created file waits for its close already (see confirmCreated)
      if (!this.unconfirmed.has(change.path)) this.unclosed.written(change.path);
      return this.notifyIdle();
    }
    this.announced(change);
    if (
      change.kind === 'sync' &&
      this.looksTemporary(displayPath(baseName(change.path))) &&
      this.nameDelay.hold(change.path)
    ) {
      return this.notifyIdle();
    }
    if (change.kind === 'new') this.unconfirmed.add(change.path);
    this.pendingSince ??= Date.now();
    if (this.coalescer.apply(change)) this.overflowed();
    this.schedule();
  }

  /** A file's content announced, or the file gone or renamed: it no longer waits for its writer. */
  private announced(change: CoalescedChange): void {
    const path = change.kind === 'rename' ? change.from : change.kind === 'resync' ? null : change.path;
    if (path === null || change.kind === 'new') return;
    this.unconfirmed.delete(path);
    this.unclosed.closed(path);
  }

  /** Puts back operations from the retry queue. */
  restore(op: PathOp, owesRemoval = false): void {
    this.pendingSince ??= Date.now();
    if (this.coalescer.restore(op, owesRemoval)) this.overflowed();
    this.schedule();
  }

  /** The root can be trusted again (see `source`): send what was held. */
  resume(): void {
    this.schedule();
  }

  /** More changes pending than the coalescer tracks one by one: a full sync of the tree carries them. */
  private overflowed(): void {
    this.ctx.log.warn(
      { limit: MAX_PENDING },
      'too many changes pending: resyncing the tree instead of tracking each',
    );
  }

  /** Resolves when nothing is pending or in flight. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops dispatching; resolves when the batches in flight (if any) have finished, with the work
   * left behind recorded in the retry queue, due at the next start: true when it was (or nothing
   * was left), false when it is lost with this process and the next start must resync the tree.
   */
  async stop(): Promise<boolean> {
    this.stopped = true;
    const since = this.oldestChangeAt;
    const held = [...this.nameDelay.stop(), ...this.unclosed.stop(), ...this.unconfirmed];
    this.unconfirmed.clear();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    while (this.busy) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    return this.leave(held, since);
  }

  /**
   * Records what is pending, and the files held (`held`), as work the next start sends; `since`:
   * when the oldest of it was seen.
   */
  private leave(held: readonly RelPath[], since: number | null): boolean {
    const ops: PathOp[] = [
      ...this.coalescer.take(),
      ...held.map((path) => ({ kind: 'sync' as const, path })),
    ];
    this.pendingSince = null;
    if (ops.length === 0) return true;
    try {
      const { store, remote, root } = this.ctx;
      store.leave(store.begin(remote.id, root, ops, since ?? undefined));
      this.ctx.log.info(
        { operations: ops.length },
        'changes not sent yet are queued: the next start sends them',
      );
      return true;
    } catch (err) {
      this.ctx.log.error({ err }, 'cannot queue the changes not sent yet: the next start resyncs the tree');
      return false;
    }
  }

  private isIdle(): boolean {
    return (
      !this.busy &&
      this.timer === null &&
      this.coalescer.size === 0 &&
      this.unconfirmed.size === 0 &&
      this.nameDelay.size === 0 &&
      this.unclosed.size === 0
    );
  }

  private schedule(): void {
    const beside = this.busy;
    if (this.timer !== null && this.timerBeside && !beside) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.timer !== null || this.stopped || this.flights.size >= this.depth) return this.notifyIdle();
    const work = beside ? this.coalescer.takeable : this.coalescer.size > 0 || this.unconfirmed.size > 0;
    if (!work) return this.notifyIdle();
    const wait =
      this.storeFailures !== 0
        ? backoffMs(this.storeFailures, this.ctx.storeRetryMs ?? 1000, MAX_STORE_RETRY_MS)
        : beside
          ? (this.ctx.sideSettleMs ?? SIDE_SETTLE_MS)
          : this.ctx.settleMs;
    this.timerBeside = beside;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.dispatch();
    }, wait);
  }

  private notifyIdle(): void {
    if (!this.isIdle() && !(this.stopped && !this.busy)) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private dispatch(): void {
    const source = this.ctx.source === undefined ? { dir: this.ctx.root, id: null } : this.ctx.source();
    if (source === null) return; // held: resume() dispatches
    this.confirmCreated();
    const alone = !this.busy;
    const ops = this.coalescer.take();
    if (ops.length === 0) {
      if (alone) this.pendingSince = null;
      return this.notifyIdle();
    }
    const flight: Flight = { ops, seq: ++this.dispatched, since: this.pendingSince };
    this.flights.add(flight);
    if (this.coalescer.size === 0) this.pendingSince = null;
    const sentAs = this.takeWalked(ops, alone);
    let ok = false;
    this.execute(flight, source.dir, source.id, sentAs)
      .then((succeeded) => {
        ok = succeeded;
        if (this.storeFailures !== 0) this.ctx.log.info('the retry queue can be written again');
        this.storeFailures = 0;
        this.counts.queueFailingSince = null;
        this.counts.queueError = null;
      })
      .catch((err: unknown) => {
        // The batch could not be recorded or settled (the queue locked by another process past
        // SQLite's wait, a full disk): its work is all that is left of it, so it goes back, and
        // the lane waits before it tries again rather than fail in a tight loop.
        for (const op of ops) this.coalescer.restore(op);
        this.pendingSince = Math.min(this.pendingSince ?? Infinity, flight.since ?? Date.now());
        this.storeFailures++;
        this.counts.queueFailingSince ??= Date.now();
        const error = `${errorText(err)}; changes wait in memory and are sent once it can be`;
        // Said once for a spell (status shows it while it lasts), again only when the cause changes.
        if (error !== this.counts.queueError)
          this.ctx.log.error({ err }, 'sync batch failed unexpectedly: its work is kept and tried again');
        this.counts.queueError = error;
      })
      .finally(() => {
        this.flights.delete(flight);
        this.coalescer.landed(ops, ok);
        this.settleWhenReported(ops);
        this.relistStaleDirs(flight);
        // Another timer may be set for a batch beside this one: the lane may still dispatch more.
        this.schedule();
      });
    // A burst keeps coming: a batch beside this one may already have work.
    this.schedule();
  }

  /** Tells the coalescer once the changes made before `ops` landed have all come in. */
  private settleWhenReported(ops: readonly PathOp[]): void {
    const reported = this.ctx.reported?.();
    const settle = (): void => {
      this.coalescer.settled(ops);
    };
    if (reported === undefined) return settle();
    // (a watcher that failed meanwhile is replaced, and its successor resyncs)
    void reported.then(settle, settle);
  }

  /**
   * The signatures the double-send check needs for `ops`' files, taken out of `walked`; a batch
   * dispatched with nothing else in flight comes after every walk that landed, so the rest is
   * forgotten (a later event of those files is a real change).
   */
  private takeWalked(ops: readonly PathOp[], alone: boolean): Map<RelPath, FileSignature> {
    const out = new Map<RelPath, FileSignature>();
    if (this.walked.size === 0) return out;
    const take = (p: RelPath): void => {
      const sig = this.walked.get(p);
      if (sig === undefined) return;
      out.set(p, sig);
      this.walked.delete(p);
    };
    const trees = new Set<RelPath>();
    for (const op of ops) {
      if (op.kind === 'sync') take(op.path);
      else if (op.kind === 'tree' || op.kind === 'move') trees.add(op.path);
    }
    // Only a batch that walks directories needs the files remembered below them: a scan.
    if (trees.size > 0) for (const p of this.walked.keys()) if (hasAncestorIn(p, trees)) take(p);
    if (alone) this.walked.clear();
    return out;
  }

  /** Remembers what a landed batch's walks sent, the oldest forgotten first past MAX_WALKED. */
  private rememberWalked(results: readonly RsyncResult[], notSent: ReadonlyMap<RelPath, Failure>): void {
    const sent = (p: RelPath): boolean => {
      for (let d = p; d !== ''; d = parentOf(d)) if (notSent.has(d)) return false;
      return true;
    };
    for (const r of results)
      for (const [p, sig] of r.walked) if (notSent.size === 0 || sent(p)) this.walked.set(p, sig);
    for (const p of this.walked.keys()) {
      if (this.walked.size <= MAX_WALKED) break;
      this.walked.delete(p);
    }
  }

  /**
   * rsync sets the attributes of every directory above a listed path (`-R`) as they were when it
   * listed them. Batches side by side may land out of order: a directory that a newer batch
   * listed and this older one lists too is sent again, so its newest attributes end on the replica.
   */
  private relistStaleDirs(flight: Flight): void {
    const dirs = new Set<RelPath>();
    for (const op of flight.ops) for (let d = parentOf(op.path); d !== ''; d = parentOf(d)) dirs.add(d);
    for (const d of dirs) {
      const newest = this.listedDirs.get(d) ?? 0;
      if (newest <= flight.seq) this.listedDirs.set(d, flight.seq);
      else if (!this.coalescer.apply({ kind: 'sync', path: d })) this.pendingSince ??= Date.now();
    }
    if (!this.busy) this.listedDirs.clear();
  }

  /**
   * Created entries with no close_write so far: one that is not a regular file (symlink, FIFO) or
   * has other names (a hard link) is sent now; a regular file is held until its writer closes it or
   * it stays unchanged (with `closeWrite` on, and a name not temporary-looking), for a name can be
   * linked to content written before and never be closed (maildir's delivery: written in tmp/,
   * linked into new/, unlinked from tmp/; O_TMPFILE).
   */
  private confirmCreated(): void {
    if (this.unconfirmed.size === 0) return;
    for (const path of this.unconfirmed) {
      try {
        const st = lstatSync(absoluteBytes(this.ctx.root, path), { bigint: true });
        if (!st.isFile() || st.nlink > 1n) this.coalescer.apply({ kind: 'sync', path });
        else this.unclosed.created(path, st);
      } catch {
        // gone already: its delete event follows
      }
    }
    this.unconfirmed.clear();
  }

  /**
   * Runs a batch in `cwd` (the tree's directory as resolved now; each run checks it is still the
   * directory `id` names); true when all of it reached the replica.
   */
  private async execute(
    { ops, since }: Flight,
    cwd: string,
    id: DirIdentity | null,
    sentAs: ReadonlyMap<RelPath, FileSignature>,
  ): Promise<boolean> {
    const { store, remote, root } = this.ctx;
    const plan = {
      ...this.ctx,
      filter: this.filter,
      replica: this.replica,
      root: cwd,
      ...(id === null ? {} : { rootId: id }),
      protect: this.ctx.protect?.() ?? [],
    };
    const started = performance.now();
    const batch = store.begin(remote.id, root, ops, since ?? undefined);
    const results: RsyncResult[] = [];
    // Renamed directories first, while their old copy is still on the replica; one that cannot be
    // rebuilt that way (e.g. its new parent is not there yet), or is too small to be worth a run of
    // its own, goes with the sends instead.
    const sendWhole: PathOp[] = [];
    const moves = ops.filter((op): op is Extract<PathOp, { kind: 'move' }> => op.kind === 'move');
    for (const wave of moveWaves(moves)) {
      const ran = await Promise.all(
        wave.map(async (op) => {
          const task = worthRebuilding(cwd, op.path) ? planMove(op, plan) : null;
          return { op, r: task === null ? null : await this.run(task, ops) };
        }),
      );
      for (const { op, r } of ran) {
        if (r !== null) results.push(r);
        if (r === null || failureOf(r) !== null) sendWhole.push(op);
      }
    }
    const rest = [...ops.filter((op) => op.kind !== 'move'), ...sendWhole];
    let failure: Failure | null = null;
    // Set when only some operations failed (sources rsync could not read, removals refused).
    let perPath: Map<RelPath, Failure> | null = null;
    let refusal: string | null = null;
    let removals: Failure | null = null;
    let prunes: Failure | null = null;
    // The failure of the first run that failed only in part (its paths are in `perPath`).
    let partly: Failure | null = null;
    const aside = new Map<RelPath, Failure>();
    // What the replica could not take that no op of the batch carried, the rest having arrived.
    let notTaken: readonly OwnRow[] = [];
    // What the batch's full sync went without (a batch carries one), each with its refusal.
    const conceded = new Map<Concession, Failure>();
    for (let planned of planRuns(rest, plan, sentAs)) {
      const why = this.refusesFullDelete(planned, cwd);
      // Empty on both sides: the full sync is done without a run.
      if (why === 'nothing to do') continue;
      if (why !== null) {
        refusal = why;
        continue;
      }
      const asPlanned = planned;
      let task = planned;
      let r = await this.run(task, ops);
      // A full sync its remote refuses for an option it can go without goes again without it.
      for (;;) {
        const denied = failureOf(r);
        const c = denied === null ? null : concession(task, denied);
        if (denied === null || c === null) break;
        results.push(r);
        conceded.set(c.gave, denied);
        planned = c.task;
        task = planned;
        r = await this.run(task, ops);
      }
      if (planned.kind === 'full' && reachedRemote(r)) this.fullSyncTook(asPlanned, conceded);
      results.push(r);
      failure = failureOf(r);
      // A file the replica has no room for goes on its own; the run goes again without it.
      while (failure !== null) {
        const set = this.setAside(task, r, aside);
        const next = set === null ? null : withoutSetAside(planned, [...aside.keys(), set.path]);
        if (set === null || next === null) break;
        aside.set(set.path, set.failure);
        this.ctx.log.warn(
          { path: displayPath(set.path), error: set.failure.message },
          'the replica refused a file: it waits in the retry queue, the rest goes without it',
        );
        task = next;
        r = await this.run(task, ops);
        results.push(r);
        failure = failureOf(r);
      }
      if (failure === null) continue;
      // A run that did its work but for some paths (files rsync could not read or the replica could
      // not take, entries it could not remove): the rest has arrived, and the runs after it (the
      // root's attributes go before the other sends) still go; a full sync the replica took but for
      // some paths is done. What no op carried (a directory's attributes set along) waits alone.
      const partial = partialOutcome(planned.kind, ops, r, cwd, remote);
      if (partial === null) {
        // Removals the replica refuses wait on their own; the sends go (sersync's ran apart).
        if (planned.kind === 'delete' && failsOnlyItsRun(failure)) {
          removals = failure;
          failure = null;
          continue;
        }
        // A prune the daemon's policy refuses (`refuse options = delete`) is not owed: what it would
        // remove is a removal the daemon refuses. Refused otherwise, its trees wait as removals do.
        if (planned.kind === 'prune' && failsOnlyItsRun(failure)) {
          if (refusedByPolicy(failure)) this.pruneRefusedByPolicy(ops, failure);
          else prunes = failure;
          failure = null;
          continue;
        }
        perPath = null; // this run failed whole: so does the batch, whatever ran in part before it
        break;
      }
      notTaken = [...notTaken, ...partial.own];
      if (partial.ops.size > 0) {
        perPath = new Map([...(perPath ?? []), ...partial.ops]);
        partly ??= failure;
      }
      failure = null;
    }
    failure ??= partly;
    // The remote took the batch's other runs: its closing on the removals' is their refusal, not a loss.
    const answered = results.some(reachedRemote);
    removals = answered ? closedOnRemovals(removals) : removals;
    prunes = answered ? closedOnRemovals(prunes) : prunes;
    if (notTaken.length > 0)
      this.ctx.log.warn(
        { paths: notTaken.length, error: notTaken[0]?.failure.message },
        'arrived but for what the replica could not take: it waits in the retry queue',
      );
    const sendsArrived = failure === null;
    const failing = (f: Failure | null, which: (op: PathOp) => boolean): (readonly [RelPath, Failure])[] =>
      f === null ? [] : ops.filter(which).map((op) => [op.path, f] as const);
    const undone = [...failing(removals, (op) => op.kind === 'delete'), ...failing(prunes, isPrune)];
    if (undone.length > 0 && (failure === null || perPath !== null)) {
      perPath = new Map([...(perPath ?? []), ...undone]);
      failure ??= removals ?? prunes;
    }
    if (failure !== null && describeExit(failure.exitCode).interrupted === true) {
      // Not a failure of the remote: its rows keep their real last error (they stay in flight until
      // a batch takes them over or the next start queues them again) and the work goes back.
      for (const op of ops) this.coalescer.restore(op);
      this.ctx.log.info('rsync was interrupted by a signal: its work is kept');
      return false;
    }
    // Each file set aside, and each path the replica did not take that no op carried, fails alone,
    // whatever the rest did: its row (and its attempts) leaves the batch first.
    const rows: OwnRow[] = [
      ...[...aside].map(([path, failure]) => ({ op: { kind: 'sync' as const, path }, failure })),
      ...notTaken,
    ];
    const alone = new Map(rows.map((o) => [o.op.path, o.failure]));
    const ownOps = rows.map((o) => o.op);
    const asideBatch = rows.length === 0 ? null : store.begin(remote.id, root, ownOps, since ?? undefined);
    // Only what surely arrived may spare the next batch a send.
    if (sendsArrived) this.rememberWalked(results, alone);
    if (failure === null) store.succeed(batch);
    else if (perPath !== null) store.failPaths(batch, perPath);
    else store.fail(batch, failure);
    // A refused full sync is not retried (a retry once the first file appears in an empty mount
    // point would empty the replica), but it is no success either: status shows it as a failure.
    const shown = failure ?? (refusal === null ? null : { exitCode: SOURCE_UNUSABLE, message: refusal });
    this.count(ops, results, shown, refusal !== null, [...alone.values()].at(-1) ?? null);
    const report: BatchReport = {
      root,
      remote,
      ops,
      results,
      failure,
      failedOps: failure === null ? 0 : (perPath?.size ?? ops.length),
      conceded,
      durationMs: performance.now() - started,
    };
    this.ctx.onBatch(report);
    // Failed after the report, whose full sync settles the retry rows it carried (not these) and
    // whose backlog release would send them again at once.
    if (asideBatch !== null) store.failPaths(asideBatch, alone);
    return failure === null;
  }

  /**
   * Counts the directories whose prune the remote's daemon refused, and says once in the log that
   * it does (see `execute`).
   */
  private pruneRefusedByPolicy(ops: readonly PathOp[], failure: Failure): void {
    const trees = ops.filter(isPrune);
    const last = trees.at(-1);
    if (last !== undefined) {
      this.counts.pruneRefused += trees.length;
      this.counts.lastPruneRefused = { path: displayPath(last.path), at: Date.now() };
    }
    if (this.pruneRefusalTold) return;
    this.pruneRefusalTold = true;
    this.ctx.log.warn(
      { error: failure.message },
      "the remote's rsync daemon refuses removals: what a new directory's copy holds that the source has not stays on it",
    );
  }

  /**
   * Records how a full sync that reached the remote went: how it compared times, whether it could
   * remove; says once of each concession that the remote asked for it (see `concessions.ts`).
   */
  private fullSyncTook(planned: RsyncTask, conceded: Conceded): void {
    const at = Date.now();
    if (planned.args.includes(NANO_WINDOW))
      this.counts.fullSyncWindow = {
        window: conceded.has('nanosecond-window') ? 'second' : 'nanosecond',
        at,
      };
    if (planned.args.includes('--delete'))
      this.counts.fullSyncRemovals = { refused: conceded.has('removals'), at };
    for (const [gave, refusal] of conceded) {
      if (this.concessionsTold.has(gave)) continue;
      this.concessionsTold.add(gave);
      this.ctx.log.warn({ error: refusal.message }, CONCESSION_TOLD[gave]);
    }
  }

  /** The file to set aside after `task` failed with `r` (see `set-aside.ts`). */
  private setAside(task: RsyncTask, r: RsyncResult, aside: ReadonlyMap<RelPath, Failure>): SetAside | null {
    return fileToSetAside(task, r, this.ctx.remote, aside, (path) => {
      try {
        return lstatSync(absoluteBytes(task.cwd, path)).size;
      } catch {
        return null;
      }
    });
  }

  /**
   * Runs one task of `batch`; one its daemon refused as busy goes again after a short wait (see
   * `busyRerunWaitMs`), unless the lane is stopping: then the retry queue keeps it.
   */
  private async run(task: RsyncTask, batch: readonly PathOp[]): Promise<RsyncResult> {
    const { last, busy } = await rerunWhileBusy(
      () => this.runOnce(task, batch),
      () => !this.stopped,
    );
    return busy === undefined ? last : { ...last, busy };
  }

  /** Runs one task of `batch` once. */
  private runOnce(task: RsyncTask, batch: readonly PathOp[]): Promise<RsyncResult> {
    if (this.ctx.config.debug)
      this.ctx.log.debug({ cwd: task.cwd, argv: ['rsync', ...task.args] }, 'execute command');
    // Only a full sync (a walk of the whole tree) reports progress.
    const full = task.kind === 'full';
    const subject = full ? { root: this.ctx.root, remote: this.ctx.remote.id } : undefined;
    const input = task.input;
    // Once its walks are done, changes below its trees that they did not list may go beside it.
    const narrows = this.depth > 1 && input?.kind === 'files' && input.trees.length > 0;
    if (narrows) this.coalescer.widen(batch); // a run made again walks again
    const ran = !narrows
      ? this.ctx.pool.run(task, subject)
      : this.ctx.pool.run(task, subject, (listed) => {
          this.coalescer.narrow(batch, input.trees, listed);
          this.schedule();
        });
    if (!this.ctx.config.debug) return ran;
    return ran.then((r) => {
      this.ctx.log.debug(
        {
          kind: task.kind,
          exit: r.exitCode,
          ms: Math.round(r.durationMs),
          listed: r.listed,
          files: r.filesSent,
        },
        'command done',
      );
      return r;
    });
  }

  private count(
    ops: readonly PathOp[],
    results: readonly RsyncResult[],
    failure: Failure | null,
    refusedFull: boolean,
    setAside: Failure | null,
  ): void {
    const s = this.counts;
    s.batches++;
    s.rsyncRuns += rsyncRunsOf(results);
    for (const r of results) {
      s.filesSent += r.filesSent ?? 0;
      s.bytesSent += r.bytesSent ?? 0;
    }
    this.countDaemonRefusals(results);
    this.countBusy(results);
    if (failure === null) {
      s.lastSuccessAt = Date.now();
      if (!refusedFull && ops.some((op) => op.kind === 'full')) s.lastFullSyncAt = s.lastSuccessAt;
      // The rest arrived, but a file the replica refused waits: status says so as a failure.
      if (setAside !== null) {
        s.lastFailureAt = s.lastSuccessAt;
        s.lastError = setAside.message;
      }
    } else {
      s.failedBatches++;
      s.lastFailureAt = Date.now();
      s.lastError = failure.message;
    }
  }

  /** Counts the runs the daemon refused as busy, and tells the log once that it does. */
  private countBusy(results: readonly RsyncResult[]): void {
    let last: number | null = null;
    for (const r of results) {
      const limit = busyLimit(r);
      this.counts.daemonBusy += (r.busy?.refusals ?? 0) + (limit === null ? 0 : 1);
      last = limit ?? r.busy?.limit ?? last;
    }
    if (last === null) return;
    this.counts.lastDaemonBusy = { limit: last, at: Date.now() };
    if (this.busyTold) return;
    this.busyTold = true;
    this.ctx.log.warn(
      { maxConnections: last, threads: this.ctx.pool.maxConcurrent },
      "the remote's rsync daemon refused a run as busy (its module's max connections are taken): each such run goes again after a short wait; raise max connections in its rsyncd.conf above sersync2's rsync threads (-n) if this goes on",
    );
  }

  /** Counts what the daemon refused to receive, and tells the log of each name once. */
  private countDaemonRefusals(results: readonly RsyncResult[]): void {
    const paths = results.flatMap(daemonRefusedPaths);
    const last = paths.at(-1);
    if (last === undefined) return;
    this.counts.daemonRefused += paths.length;
    this.counts.lastDaemonRefused = { path: displayPath(last), at: Date.now() };
    const fresh = paths.filter((p) => !this.refusedTold.has(p));
    for (const p of fresh) {
      if (this.refusedTold.size >= MAX_REFUSED_TOLD) this.refusedTold.clear();
      this.refusedTold.add(p);
    }
    if (fresh.length > 0)
      this.ctx.log.warn(
        { files: fresh.length, first: displayPath(fresh[0] ?? '') },
        "the remote's rsync daemon refused to receive what its module excludes (rsyncd.conf exclude or filter): not on the replica, by its policy",
      );
  }

  /**
   * Why a full sync with --delete is not run: 'nothing to do' when both sides are empty, the
   * refusal when the watched directory is missing or empty (it would wipe the replica: a typo in
   * `watch` or an unmounted disk must not destroy the backup); null: run it.
   */
  private refusesFullDelete(task: RsyncTask, cwd: string): string | null {
    if (task.kind !== 'full' || !this.ctx.config.inotify.delete) return null;
    if (listing(cwd).length > 0) return null;
    const t = this.ctx.remote.target;
    // Empty on both sides (a first start, the shipped demo): nothing to send and nothing to protect.
    if (t.kind === 'local' && listing(t.path).length === 0) return 'nothing to do';
    const refusal =
      'refusing a full sync with --delete: the watched directory is missing or empty; the replica is left as it is';
    this.ctx.log.error(refusal);
    return refusal;
  }
}

/** Whether a directory above `path` is in `dirs`. */
function hasAncestorIn(path: RelPath, dirs: ReadonlySet<RelPath>): boolean {
  if (dirs.size === 0) return false;
  for (let p = path; p !== '';) {
    p = parentOf(p);
    if (dirs.has(p)) return true;
  }
  return false;
}

/** A directory's entries; none when it is missing or unreadable. */
function listing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A removal's failure, said to be the remote's closing on the removals alone (see `closedAfterAnswer`). */
function closedOnRemovals(failure: Failure | null): Failure | null {
  return failure !== null && closedAfterAnswer(failure)
    ? { ...failure, message: `${failure.message}${CLOSED_ON_REMOVALS}` }
    : failure;
}
