import { realpath } from 'node:fs/promises';
import { SersyncError } from '../errors.js';
import { encodeInotifyEvents, IN, parseInotifyEvents } from './inotify-events.js';
import { errnoCode, type InotifyBinding, type InotifyHandle } from './native.js';
import { TreeScanner, type ScanResult } from './scan.js';
import { EventTranslator, type Step } from './translate.js';
import {
  MAX_DRAIN_MS,
  type MountMemory,
  type Watcher,
  type WatcherOptions,
  type WatchEvent,
  type WatchHealth,
  type WatchStats,
} from './types.js';
import { baseName, fromUtf8, joinRel, parentOf, type RelPath } from '../paths.js';
import { diffMounts, mountsBelow, readMountTable, type Mount } from './mounts.js';
import { instancesError, watchLimitError } from './watch-limit.js';
import { WatchTree, type DirNode } from './watch-tree.js';

/** How long an IN_MOVED_FROM waits for its IN_MOVED_TO from a later read. */
const MOVE_PAIR_MS = 5;
/** How long a new directory that could not be watched waits for a rename of an ancestor to explain why. */
const UNPLACED_MS = 5000;
/** How often mounts and directories left unwatched at the watch limit are looked at, by default. */
const RECHECK_MS = 1000;
/**
 * Event bytes read but not yet processed beyond which reading pauses (resumed at half): the kernel
 * then holds the events, and past its own limit reports IN_Q_OVERFLOW, answered with a rescan.
 */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

/**
 * A directory whose watch could not be set while scanning: its path, built from the tree as the
 * events so far left it, was gone. If an ancestor was renamed meanwhile (its rename is still in
 * the queue), the directory is there under the new name, and it is watched as soon as that
 * rename is applied.
 */
interface Unplaced {
  readonly parent: DirNode;
  readonly name: RelPath;
  readonly path: RelPath;
  readonly until: number;
}

/**
 * The kernel-exact watcher: one inotify watch per directory (never per file), through our own
 * N-API binding.
 *
 * THE NEW-DIRECTORY CONTRACT. A directory that appears (create, move-in, or rename from a skipped
 * place) is watched, with every directory below it, BEFORE its event is emitted. Files written into
 * it before its watch existed produced no event of their own; the consumer must answer a directory
 * `create`/`move-in`/`rename` with a recursive sync of that directory, which, happening after the
 * watches were set, covers them. Every later change has its own event. The same holds for
 * `overflow`: the whole tree is rescanned and rewatched before it is emitted.
 *
 * Raw reads are processed strictly in order: while one waits for a scan, later reads queue behind
 * it, so events reach `onEvents` in kernel order.
 */
export class InotifyWatcher implements Watcher {
  private readonly tree = new WatchTree();
  private readonly translator: EventTranslator;
  private handle: InotifyHandle | undefined;
  private scanner: TreeScanner | undefined;
  private root = '';
  /** The chain that serialises scans and reads. */
  private work: Promise<void> = Promise.resolve();
  private moveTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private unplaced: Unplaced[] = [];
  /** The tops of the directories the kernel refused to watch (ENOSPC), retried at each recheck. */
  private limitGaps: { readonly parent: DirNode; readonly name: RelPath }[] = [];
  /** Directories left unwatched at the limit, the tops and everything below them. */
  private overLimit = 0;
  /**
   * The tops of the directories that could not be watched or read for another reason (a path past
   * PATH_MAX, no permission), with why: retried at each recheck.
   */
  private refused: { readonly parent: DirNode; readonly name: RelPath; readonly why: string }[] = [];
  /** Mount points (relative) whose file system went away: their content is missing from the tree. */
  private readonly unmounted = new Set<RelPath>();
  /** Mount ids by mount point (relative) below the root, as the last recheck saw them. */
  private mounts: ReadonlyMap<RelPath, string> = new Map();
  /**
   * The mounts whose file system was part of the tree when watching began (by the first of the
   * watchers handing their memory on), or took the place of one gone: the directory under them is
   * not the tree's. Under any other, it is the tree's own.
   */
  private readonly original = new Set<string>();
  private recheckTimer: NodeJS.Timeout | undefined;
  /** Its read failed: no event comes any more (see onRead). */
  private dead = false;
  private pendingBytes = 0;
  private paused = false;
  /** Bytes of events read so far, and who waits for the next read (see drain). */
  private readBytes = 0;
  private readonly readWaiters = new Set<(read: boolean) => void>();
  /** Bytes of events handled (see settled). */
  private processedBytes = 0;
  private readonly settleWaiters: { readonly mark: number; readonly resolve: () => void }[] = [];

  constructor(
    private readonly binding: InotifyBinding,
    private readonly opts: WatcherOptions,
  ) {
    this.translator = new EventTranslator(this.tree, (rel) => opts.skipDir(rel));
  }

  async start(): Promise<WatchStats> {
    const started = performance.now();
    try {
      this.root = await realpath(this.opts.root);
      const handle = this.binding.open((err, chunk) => {
        this.onRead(err, chunk);
      });
      this.handle = handle;
      this.scanner = new TreeScanner({
        binding: this.binding,
        handle,
        tree: this.tree,
        root: this.root,
        xfs: this.opts.xfs,
        skipDir: (rel) => this.opts.skipDir(rel),
        report: (err) => {
          this.report(err);
        },
        vanished: (parent, name, path) => {
          this.unplaced.push({ parent, name, path, until: performance.now() + UNPLACED_MS });
        },
        overLimit: (parent, name) => {
          this.limitGaps.push({ parent, name });
        },
        unwatchable: (parent, name, why) => {
          this.refused = this.refused.filter((r) => r.parent !== parent || r.name !== name);
          this.refused.push({ parent, name, why });
        },
      });
      const table = readMountTable();
      const now = this.mountsIn(table);
      // A restart goes on from what the watcher before knew, not from a new beginning.
      const memory = this.opts.mountMemory;
      this.mounts = memory?.mounts ?? now;
      for (const id of memory?.original ?? now.values()) this.original.add(id);
      for (const rel of memory?.unmounted ?? []) this.unmounted.add(rel);
      const scanned = this.scanner.watchRoot();
      if (scanned.overLimit > 0 && this.opts.degradeAtLimit !== true)
        throw watchLimitError(this.tree.size + scanned.overLimit, this.root);
      this.checkLimit(scanned);
      // Mounted while no watcher looked: over the tree's own directory, unless in a gap's place.
      if (memory !== undefined) this.followMounts(table, [], true);
    } catch (err) {
      await this.close();
      throw this.rootError(err);
    }
    this.started = true;
    this.armRecheck();
    return { backend: 'inotify', directories: this.tree.size, readyMs: performance.now() - started };
  }

  watchedDirectories(): number {
    return this.tree.size;
  }

  health(): WatchHealth {
    const limit = this.limitGaps
      .filter((g) => this.tree.get(g.parent.wd) === g.parent)
      .map((g) => ({ path: joinRel(this.tree.pathOf(g.parent), g.name), reason: 'watch-limit' as const }));
    const unmounted = [...this.unmounted].map((path) => ({ path, reason: 'unmounted' as const }));
    const refused = this.refused
      .filter((g) => this.tree.get(g.parent.wd) === g.parent)
      .map((g) => ({
        path: joinRel(this.tree.pathOf(g.parent), g.name),
        reason: 'unwatchable' as const,
        why: g.why,
      }));
    return {
      gaps: [...unmounted, ...limit, ...refused],
      unwatchedDirectories: limit.length === 0 ? 0 : this.overLimit,
    };
  }

  /** Undefined before `start()` is done: there is nothing to go on from yet. */
  mountMemory(): MountMemory | undefined {
    if (!this.started) return undefined;
    return { mounts: this.mounts, original: new Set(this.original), unmounted: new Set(this.unmounted) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeSettled();
    clearTimeout(this.moveTimer);
    clearTimeout(this.recheckTimer);
    if (this.handle !== undefined) this.binding.close(this.handle);
    await this.work.catch(() => undefined);
  }

  /**
   * The events the kernel has queued and those read but not yet handled (closing the descriptor
   * would drop both, and a stop that then records itself clean would lose them), and a move still
   * waiting for its partner, settled as its timer would. Reads as many bytes as the kernel held when
   * it was called (then once more if they end with a rename's first half: its second is queued right
   * after it), so a tree that keeps changing does not hold the stop up. True when all of it was
   * handed on; false when the read failed, or took longer than MAX_DRAIN_MS.
   */
  async drain(): Promise<boolean> {
    if (this.handle === undefined) return true;
    if (this.dead || this.closed) return false;
    const handle = this.handle;
    if (this.paused) {
      this.paused = false;
      this.binding.resume(handle);
    }
    const until = performance.now() + MAX_DRAIN_MS;
    for (let round = 0; round < 2; round++) {
      const target = this.readBytes + this.binding.queued(handle);
      while (this.readBytes < target) if (!(await this.nextRead(until))) return false;
      await this.work;
      if (!this.translator.waiting) break;
    }
    clearTimeout(this.moveTimer);
    if (this.translator.waiting) this.enqueue(() => this.translator.finish());
    await this.work;
    return !this.dead;
  }

  /**
   * Resolves once every event the kernel had queued when called has been handed on (a rename's
   * first half with its partner), without reading ahead of the poll; at once when this watcher
   * reads no more (closed or failed: its successor starts with a resync).
   */
  settled(): Promise<void> {
    if (this.handle === undefined || this.dead || this.closed) return Promise.resolve();
    const mark = this.readBytes + this.binding.queued(this.handle);
    if (this.handedBytes >= mark) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push({ mark, resolve }));
  }

  /**
   * Bytes of events handled and handed on: a move's first half still waiting for its partner is the
   * last event handled, so every mark before it is passed, and its own once it is settled.
   */
  private get handedBytes(): number {
    return this.translator.waiting ? this.processedBytes - 1 : this.processedBytes;
  }

  /** Wakes the `settled` callers whose events are all handed on (all of them once reading stopped). */
  private wakeSettled(): void {
    const all = this.dead || this.closed;
    for (let i = this.settleWaiters.length - 1; i >= 0; i--) {
      const w = this.settleWaiters[i];
      if (w === undefined || (!all && w.mark > this.handedBytes)) continue;
      this.settleWaiters.splice(i, 1);
      w.resolve();
    }
  }

  /** Resolves true at the next read, false at a failed one or if none comes by `until`. */
  private nextRead(until: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = (read: boolean): void => {
        clearTimeout(timer);
        resolve(read);
      };
      const timer = setTimeout(() => {
        this.readWaiters.delete(wake);
        resolve(false);
      }, until - performance.now());
      this.readWaiters.add(wake);
    });
  }

  /** Test hook: feeds the watcher an IN_Q_OVERFLOW as if the kernel had read it (see simulateOverflow). */
  injectOverflow(): void {
    this.onRead(null, encodeInotifyEvents([{ wd: -1, mask: IN.Q_OVERFLOW, cookie: 0, name: '' }]));
  }

  /** Test hook: a failed read of the inotify descriptor, as the binding reports one. */
  injectReadError(err: Error): void {
    this.onRead(err);
  }

  /**
   * A failed read stops the binding's polling: no event would ever come again. Said once, as a
   * `failed` event, so that the consumer replaces this watcher and resyncs.
   */
  private onRead(err: Error | null, chunk?: Buffer): void {
    const read = err === null && chunk !== undefined;
    if (read) this.readBytes += chunk.length;
    for (const wake of this.readWaiters) wake(read);
    this.readWaiters.clear();
    if (err !== null || chunk === undefined) {
      if (this.closed || this.dead) return;
      clearTimeout(this.recheckTimer);
      const reason = err?.message ?? 'inotify read without data';
      this.dead = true;
      this.wakeSettled();
      this.work = this.work.then(() => {
        if (!this.closed) this.opts.onEvents([{ type: 'failed', reason }]);
      });
      return;
    }
    const batch = parseInotifyEvents(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > MAX_PENDING_BYTES && !this.paused && this.handle !== undefined) {
      this.binding.pause(this.handle);
      this.paused = true;
    }
    this.enqueue(() => this.translator.translate(batch), chunk.length);
  }

  /** Translates (when its turn comes, against the tree as the earlier work left it) and runs. */
  private enqueue(translate: () => Iterable<Step>, bytes = 0): void {
    this.work = this.work
      .then(async () => {
        if (this.closed) return;
        clearTimeout(this.moveTimer);
        await this.run(translate());
        if (this.translator.waiting) this.armMoveTimer();
      })
      .catch((err: unknown) => {
        this.report(err);
      })
      .finally(() => {
        this.processed(bytes);
      });
  }

  private processed(bytes: number): void {
    this.processedBytes += bytes;
    this.wakeSettled();
    this.pendingBytes -= bytes;
    if (!this.paused || this.pendingBytes > MAX_PENDING_BYTES / 2 || this.closed) return;
    this.paused = false;
    if (this.handle !== undefined) this.binding.resume(this.handle);
  }

  /**
   * A partner still in the kernel's queue when the timer fires would lose the race to it if the
   * event loop was busy: so the flush waits for one more poll phase (setImmediate), in which a
   * pending read is delivered first.
   */
  private armMoveTimer(): void {
    this.moveTimer = setTimeout(() => {
      setImmediate(() => {
        this.enqueue(() => this.translator.finish());
      });
    }, MOVE_PAIR_MS);
  }

  private async run(steps: Iterable<Step>): Promise<void> {
    const events: WatchEvent[] = [];
    for (const step of steps) {
      const io = this.perform(step, events);
      if (io !== undefined) await io; // only scans wait: plain events cost no extra turn
    }
    if (this.unplaced.length > 0) this.watchUnplaced(events);
    if (events.length > 0 && !this.closed) this.opts.onEvents(events);
  }

  /**
   * Retries the new directories that could not be watched, where an ancestor's rename has since
   * given them a new path; each one watched now is reported as created, so the consumer sends it
   * with everything written into it meanwhile.
   */
  private watchUnplaced(events: WatchEvent[]): void {
    const now = performance.now();
    const waiting = this.unplaced;
    this.unplaced = [];
    for (const u of waiting) {
      if (this.tree.get(u.parent.wd) !== u.parent) continue; // its parent left the tree too
      const path = joinRel(this.tree.pathOf(u.parent), u.name);
      if (path !== u.path) {
        this.checkLimit(this.scan().watchSubtree(u.parent, u.name));
        if (this.tree.childOf(u.parent, u.name) !== undefined) {
          events.push({ type: 'create', path, isDir: true });
          continue;
        }
      }
      if (now < u.until) this.unplaced.push({ ...u, path });
    }
  }

  /** Carries out one step; a promise for the steps that scan. */
  private perform(step: Step, events: WatchEvent[]): Promise<void> | undefined {
    switch (step.do) {
      case 'emit':
        events.push(step.event);
        return undefined;
      case 'watch':
        this.checkLimit(this.scan().watchSubtree(step.parent, step.name));
        return undefined;
      case 'unwatch':
        this.unwatch(step.wds);
        return undefined;
      case 'overflow':
        if (this.rewatch()) events.push({ type: 'overflow' });
        else for (const last of this.translator.stop()) void this.perform(last, events);
        return undefined;
      case 'stop':
        this.unwatch(this.tree.root === undefined ? [] : this.tree.detach(this.tree.root));
        return undefined;
    }
  }

  /**
   * After lost events: watches the tree afresh, and removes the watches of directories no longer in
   * it. False when the root itself is gone.
   */
  private rewatch(): boolean {
    const before = this.tree.wds();
    this.limitGaps = []; // the scan finds them again
    this.overLimit = 0;
    this.refused = [];
    try {
      this.checkLimit(this.scan().watchRoot());
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      return false;
    }
    this.unwatch(before.filter((wd) => this.tree.get(wd) === undefined));
    return true;
  }

  private checkLimit(result: ScanResult): void {
    if (result.overLimit === 0) return;
    this.overLimit += result.overLimit;
    this.report(watchLimitError(this.tree.size + this.overLimit, this.root));
  }

  private armRecheck(): void {
    this.recheckTimer = setTimeout(() => {
      this.work = this.work
        .then(() => this.recheck())
        .catch((err: unknown) => {
          this.report(err);
        })
        .finally(() => {
          if (!this.closed && !this.dead) this.armRecheck();
        });
    }, this.opts.recheckMs ?? RECHECK_MS);
  }

  /**
   * What no event tells: mounts come and gone, room again for the watches refused at the limit, a
   * directory that can be watched now (a permission granted).
   */
  private recheck(): void {
    const events: WatchEvent[] = [];
    this.followMounts(readMountTable(), events);
    this.retryGaps(events);
    if (events.length > 0 && !this.closed) this.opts.onEvents(events);
  }

  /**
   * A file system mounted over a watched directory hides it (its watch sees nothing more): the new
   * top is watched and the tree resynced. One unmounted took its watches with it, and the directory
   * under it is watched. If the file system was mounted after watching began, that directory is the
   * one it covered, the tree's own: the tree is resynced. If it was there at start, the directory
   * is a stranger (silently watched: its emptiness is no reason to delete the replica's copy) and
   * the gap stays in `health()` until something is mounted there again.
   *
   * `scanned`: the whole tree was just watched as it is now (a restart), so nothing needs watching
   * again, and the consumer resyncs the tree anyway.
   */
  private followMounts(table: readonly Mount[], events: WatchEvent[], scanned = false): void {
    const before = this.mounts;
    const now = this.mountsIn(table);
    const { mounted, unmounted } = diffMounts(before, now);
    this.mounts = now;
    const watch = (rel: RelPath): boolean =>
      scanned ? this.nodeAt(rel) !== undefined : this.watchAgain(rel);
    for (const rel of unmounted) {
      if (!watch(rel)) continue;
      if (this.original.has(before.get(rel) ?? '')) this.unmounted.add(rel);
      else events.push({ type: 'rewatched', path: rel, why: 'unmounted' });
    }
    for (const rel of mounted) {
      if (this.unmounted.delete(rel)) this.original.add(now.get(rel) ?? '');
      if (watch(rel)) events.push({ type: 'rewatched', path: rel, why: 'mounted' });
    }
    // Kept while mounted anywhere: a rename moves it (an ancestor's, or the root's own, out of sight
    // until the tree is back); the kernel reuses a gone one's id.
    const ids = new Set(table.map((m) => m.id));
    for (const id of this.original) if (!ids.has(id)) this.original.delete(id);
  }

  /** Watches `rel` afresh (dropping a stale watch there); false when it is not part of the watched tree. */
  private watchAgain(rel: RelPath): boolean {
    const parent = this.nodeAt(parentOf(rel));
    const name = baseName(rel);
    if (parent === undefined || this.opts.skipDir(rel)) return false;
    const stale = this.tree.childOf(parent, name);
    if (stale !== undefined) this.unwatch(this.tree.detach(stale));
    this.checkLimit(this.scan().watchSubtree(parent, name));
    return this.tree.childOf(parent, name) !== undefined;
  }

  /**
   * Tries again every directory refused at the limit or for another reason; each one watched now
   * is reported. A retry still refused puts itself back (the scanner's callbacks).
   */
  private retryGaps(events: WatchEvent[]): void {
    const retries = [
      ...this.limitGaps.map((g) => ({ ...g, why: 'watch-limit' as const })),
      ...this.refused.map((g) => ({ ...g, why: 'unwatchable' as const })),
    ];
    this.limitGaps = [];
    this.refused = [];
    this.overLimit = 0;
    for (const g of retries) {
      if (this.tree.get(g.parent.wd) !== g.parent) continue; // it left the tree
      this.overLimit += this.scan().watchSubtree(g.parent, g.name).overLimit;
      const refusedAgain = this.refused.some((r) => r.parent === g.parent && r.name === g.name);
      if (!refusedAgain && this.tree.childOf(g.parent, g.name) !== undefined)
        events.push({ type: 'rewatched', path: joinRel(this.tree.pathOf(g.parent), g.name), why: g.why });
    }
  }

  /** The watched directory at `rel`, if it is watched. */
  private nodeAt(rel: RelPath): DirNode | undefined {
    let node = this.tree.root;
    if (rel === '') return node;
    for (const name of rel.split('/')) node = node === undefined ? undefined : this.tree.childOf(node, name);
    return node;
  }

  /** Relative, so that a memory handed over holds for the same directory reached by another path. */
  private mountsIn(table: readonly Mount[]): Map<RelPath, string> {
    const root = fromUtf8(this.root);
    const prefix = root.endsWith('/') ? root.length : root.length + 1;
    const below = mountsBelow(table, root);
    return new Map([...below].map(([point, id]) => [point.slice(prefix), id]));
  }

  private unwatch(wds: readonly number[]): void {
    if (this.handle === undefined || this.closed) return;
    for (const wd of wds) {
      try {
        this.binding.rmWatch(this.handle, wd);
      } catch {
        // EINVAL: the kernel already dropped it (its directory was deleted)
      }
    }
  }

  private scan(): TreeScanner {
    if (this.scanner === undefined) throw new SersyncError('ERR_SERSYNC_WATCH', 'the watcher is not started');
    return this.scanner;
  }

  private report(err: unknown): void {
    if (!this.closed) this.opts.onError(err instanceof Error ? err : new Error(String(err)));
  }

  private rootError(err: unknown): Error {
    if (err instanceof SersyncError) return err;
    const code = errnoCode(err);
    if (code === 'ENOSPC') return watchLimitError(1, this.opts.root);
    // no descriptor yet: the inotify instance itself was refused
    if (code === 'EMFILE' && this.handle === undefined) return instancesError(this.opts.root, err);
    const why = err instanceof Error ? err.message : String(err);
    return new SersyncError('ERR_SERSYNC_WATCH', `cannot watch ${this.opts.root}: ${why}`, { cause: err });
  }
}
