import { SersyncError } from '../errors.js';
import type { Change } from '../filter/changes.js';
import type { Logger } from '../log/logger.js';
import { displayPath, fromUtf8, type RelPath } from '../paths.js';
import { deviceOf, readMountTable, sharedMountsAt, type SharedMount } from '../watch/mounts.js';
import type {
  MountMemory,
  Watcher,
  WatcherOptions,
  WatchEvent,
  WatchGap,
  WatchStats,
} from '../watch/types.js';
import { watchLimitError } from '../watch/watch-limit.js';
import {
  isSameDirectory,
  judgeRoot,
  lookAtRoot,
  originOf,
  sameId,
  unusableRoot,
  type DirIdentity,
  type RootOrigin,
  type RootSource,
} from './root-identity.js';

export type WatcherFactory = (opts: WatcherOptions) => Watcher;

/** Why a tree is not replicated as it changes, or not with every guarantee. */
export type DegradedReason =
  | 'root-gone'
  | 'root-replaced'
  | 'watcher-restarting'
  | 'watch-limit'
  | 'unwatchable'
  | 'unmounted'
  | 'fallback-watcher';

export const DEGRADED_REASONS: readonly DegradedReason[] = [
  'root-gone',
  'root-replaced',
  'watcher-restarting',
  'watch-limit',
  'unwatchable',
  'unmounted',
  'fallback-watcher',
];

/**
 * What no event may have told of by a stop. `tree`: why any change in it may have gone unseen (its
 * watcher failed or was being replaced, the root gone or replaced, the kernel's events not all read),
 * or null. `unwatched`: the directories left unwatched at the watch limit (changed since their last
 * send, maybe). An unmounted root owes nothing: the directory under it is not the tree, and nothing
 * could change in the file system while it was gone.
 */
export interface Unaccounted {
  readonly tree: Down | 'drain-cut-short' | null;
  readonly unwatched: readonly RelPath[];
}

/** While one of these lasts, the tree is not watched (as a whole). */
type Down = 'root-gone' | 'root-replaced' | 'watcher-restarting' | 'unmounted';

const REWATCHED: Record<Extract<WatchEvent, { type: 'rewatched' }>['why'], string> = {
  mounted: 'a file system was mounted in the tree: watching it and resyncing the tree',
  unmounted:
    'a file system mounted in the tree after start was unmounted: watching the directory it covered and resyncing the tree',
  'watch-limit': 'watches could be added again: the whole tree is watched, resyncing it',
  unwatchable: 'a directory that could not be watched is watched now: sending it',
};

/** How many gap paths status shows. */
const SHOWN_GAPS = 10;

/** A tree's watch as status and /metrics report it. */
export interface TreeWatchStatus {
  /** Every change in the whole tree is seen now. */
  readonly watching: boolean;
  readonly watcher: WatchStats['backend'] | null;
  readonly directories: number;
  readonly degraded: readonly DegradedReason[];
  /** Directories without a watch (the watch limit). */
  readonly unwatchedDirectories: number;
  /** The first few directories the watcher cannot follow, and why. */
  readonly gaps: readonly {
    readonly path: string;
    readonly reason: WatchGap['reason'];
    /** For `unwatchable`: why. */
    readonly why?: string;
  }[];
  /** The real directory watched and synced from (a followed symlink's target), null before start. */
  readonly resolvedRoot: string | null;
  readonly rootSwitches: number;
  readonly watcherRestarts: number;
  readonly lastWatcherRestart: { readonly at: number; readonly reason: string } | null;
  /**
   * File systems of the tree whose files can change without an event here (NFS, SMB, FUSE…):
   * `path` '' is the root's own. Only this host's writes to them are seen.
   */
  readonly sharedFileSystems: readonly SharedMount[];
}

/** Pure: the reasons a tree is degraded, in a fixed order. */
export function degradedReasons(
  down: Down | null,
  gaps: readonly WatchGap[],
  backend: WatchStats['backend'] | null,
): DegradedReason[] {
  const on = new Set<DegradedReason>(gaps.map((g) => g.reason));
  if (down !== null) on.add(down);
  if (backend === 'chokidar') on.add('fallback-watcher');
  return DEGRADED_REASONS.filter((r) => on.has(r));
}

export interface TreeWatchDeps {
  /** The root as the config names it. */
  readonly root: string;
  readonly createWatcher: WatcherFactory;
  readonly xfs: boolean;
  readonly skipDir: (rel: RelPath) => boolean;
  readonly log: Logger;
  /** The watcher's events (never `root-gone`/`failed`: this class answers those). */
  readonly onEvents: (events: readonly WatchEvent[]) => void;
  /** A change for every lane of the tree (resyncs, sends of unwatched directories). */
  readonly push: (change: Change) => void;
  /** The root can be trusted again: lanes holding work may send. */
  readonly resumed: () => void;
  /** How often the root's identity is checked (and a missing root looked for). */
  readonly pollMs: number;
  /** How often directories left unwatched at the watch limit are sent whole; null: never. */
  readonly gapSyncMs: number | null;
  /** How often the watcher looks at mounts and retries refused watches. */
  readonly recheckMs?: number | undefined;
  /** A reload's tree: past the watch limit it starts degraded, not failed (see WatcherOptions). */
  readonly degradeAtLimit?: boolean;
}

/**
 * One tree's watch and its health: the watcher, the root it watches (the same directory as at
 * start, or a followed symlink's new target), its replacement after a failure, and the parts it
 * cannot follow. Nothing is sent while the root cannot be trusted (`source()` is null).
 */
export class TreeWatch {
  private watcher: Watcher | null = null;
  private backend: WatchStats['backend'] | null = null;
  private origin: RootOrigin | null = null;
  /** The root directory when watching began: uncovered by an unmount, it is the tree again. */
  private first: DirIdentity | null = null;
  private down: Down | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private restarting: Promise<void> | null = null;
  private restarts = 0;
  private lastRestart: { at: number; reason: string } | null = null;
  private switches = 0;
  private lastGapSync = Date.now();
  /** The gaps as last logged, keyed `reason\0path`. */
  private knownGaps = new Set<string>();
  private watchedOnce = false;
  /** The directory the watcher watches (the root's identity when it was made). */
  private watched: DirIdentity | null = null;
  /**
   * The mount memory of the last watcher dropped, with the directory it watched: handed to the
   * next watcher of that same directory only (another one's mounts owe nothing to it).
   */
  private kept: { readonly of: DirIdentity; readonly memory: MountMemory } | null = null;

  /** Why the last try to watch the tree again failed (said once); null after one that worked. */
  private reopenError: string | null = null;

  constructor(private readonly deps: TreeWatchDeps) {}

  /** Watches the tree; throws when its root cannot be watched. */
  async start(): Promise<WatchStats> {
    const look = lookAtRoot(this.deps.root);
    if (look.kind === 'unknown')
      throw new SersyncError('ERR_SERSYNC_WATCH', `cannot watch ${unusableRoot(this.deps.root, look)}`);
    this.origin = originOf(look);
    this.first = this.origin?.id ?? null;
    if ((look.kind === 'link' || look.kind === 'dir') && look.untrusted !== null)
      throw new SersyncError('ERR_SERSYNC_WATCH', `refusing to watch ${unusableRoot(this.deps.root, look)}`);
    const stats = await this.open();
    const shared = this.sharedFileSystems();
    if (shared.length > 0)
      this.deps.log.warn(
        { root: this.deps.root, sharedFileSystems: shared },
        'part of the tree is on a file system other hosts (or its own daemon) can write: inotify sees only the changes made through this host, a full sync (crontab, sersync2 resync) brings the others',
      );
    if (this.origin?.follows === true)
      this.deps.log.info(
        { root: this.deps.root, target: this.origin.resolved },
        'the watch path is a symlink: following it (a switch to another directory is watched and resynced)',
      );
    this.arm();
    return stats;
  }

  /**
   * Stops watching. Changes made before the stop are handed on first (the replicator's stop queues
   * them, see Lane.stop). Resolves with what the watch cannot vouch for (see Unaccounted).
   */
  async close(): Promise<Unaccounted> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    await this.restarting;
    const drained = (await this.watcher?.drain?.()) ?? true;
    const unseen = this.unaccounted(drained);
    await this.watcher?.close();
    this.watcher = null;
    return unseen;
  }

  /**
   * Resolves once the changes made in the tree before the call have all been handed on (see
   * Watcher.settled); at once while no watcher reads (its successor starts with a resync).
   */
  settled(): Promise<void> {
    return this.watcher?.settled() ?? Promise.resolve();
  }

  private unaccounted(drained: boolean): Unaccounted {
    // a start that failed: nothing seen (the run owes what the last one left, see Replicator.start)
    if (!this.watchedOnce || this.down === 'unmounted') return { tree: null, unwatched: [] };
    // (a watch once set has no watcher only while it is down)
    if (this.down !== null || !drained || this.watcher === null)
      return { tree: this.down ?? 'drain-cut-short', unwatched: [] };
    const unwatched = this.watcher
      .health()
      .gaps.filter((g) => g.reason === 'watch-limit')
      .map((g) => g.path);
    return { tree: null, unwatched };
  }

  /**
   * The real directory rsync runs in, checked against the root's identity at this moment; null
   * while the root cannot be trusted (gone, replaced, being re-watched): nothing is sent then.
   */
  source(): RootSource | null {
    const o = this.origin;
    if (this.down !== null || o === null) return null;
    if (isSameDirectory(o.resolved, o.id)) return { dir: o.resolved, id: o.id };
    this.check(); // something changed under us: find out what now
    return null;
  }

  /**
   * False while the root is replaced, or is found replaced now: a plugin handed a path by the root's
   * name would then act on what the link leads to, outside the tree, as root.
   */
  trusted(): boolean {
    if (this.down === 'root-replaced') return false;
    const o = this.origin;
    // Asked for every plugin event: one lstat while the root is as it was, a full look otherwise.
    if (o === null || isSameDirectory(o.resolved, o.id)) return true;
    const verdict = judgeRoot(o, lookAtRoot(this.deps.root));
    return verdict !== 'replaced' && verdict !== 'unknown';
  }

  /** File systems unmounted from the tree: full syncs leave the replica's copy of them alone. */
  unmounted(): RelPath[] {
    return (this.watcher?.health().gaps ?? []).filter((g) => g.reason === 'unmounted').map((g) => g.path);
  }

  /** Answers the events this class owns; false for the others. */
  handle(ev: WatchEvent): boolean {
    if (ev.type === 'root-gone') {
      this.goDown('root-gone');
      return true;
    }
    if (ev.type === 'failed') {
      this.restarts++;
      this.lastRestart = { at: Date.now(), reason: ev.reason };
      this.deps.log.error(
        { root: this.deps.root, reason: ev.reason, restarts: this.restarts },
        'the watcher failed: starting a new one, then resyncing the tree',
      );
      this.goDown('watcher-restarting');
      this.check();
      return true;
    }
    if (ev.type === 'rewatched')
      this.deps.log.warn(
        { root: this.deps.root, path: displayPath(ev.path), why: ev.why },
        REWATCHED[ev.why],
      );
    return false;
  }

  status(): TreeWatchStatus {
    const health = this.watcher?.health() ?? { gaps: [], unwatchedDirectories: 0 };
    const degraded = degradedReasons(this.down, health.gaps, this.backend);
    return {
      // A file system gone from the tree is a part of it not replicated: not watching it whole.
      watching: this.down === null && this.watcher !== null && health.gaps.length === 0,
      watcher: this.down === null ? this.backend : null,
      directories: this.down === null ? (this.watcher?.watchedDirectories() ?? 0) : 0,
      degraded,
      unwatchedDirectories: health.unwatchedDirectories,
      gaps: health.gaps.slice(0, SHOWN_GAPS).map((g) => ({
        path: displayPath(g.path),
        reason: g.reason,
        ...(g.why === undefined ? {} : { why: g.why }),
      })),
      resolvedRoot: this.origin?.resolved ?? null,
      rootSwitches: this.switches,
      watcherRestarts: this.restarts,
      lastWatcherRestart: this.lastRestart,
      sharedFileSystems: this.sharedFileSystems(),
    };
  }

  private sharedFileSystems(): SharedMount[] {
    return this.origin === null ? [] : sharedMountsAt(this.origin.resolved);
  }

  private async open(): Promise<WatchStats> {
    const { deps } = this;
    const id = this.origin?.id ?? null;
    const kept = this.kept;
    const watcher = deps.createWatcher({
      root: this.origin?.resolved ?? deps.root,
      mountMemory: kept !== null && id !== null && sameId(kept.of, id) ? kept.memory : undefined,
      xfs: deps.xfs,
      skipDir: deps.skipDir,
      recheckMs: deps.recheckMs,
      // Once watched, a tree is watched again degraded rather than not at all.
      degradeAtLimit: this.watchedOnce || deps.degradeAtLimit === true,
      onEvents: deps.onEvents,
      onError: (err) => {
        // The watch limit is reported, with its fix, when the gaps are (see logGaps): once, not per directory.
        if (err.name !== 'WatchLimitError')
          deps.log.error({ root: deps.root, error: err.message }, 'watcher error');
      },
    });
    this.watcher = watcher;
    this.watched = id;
    const stats = await watcher.start();
    this.backend = stats.backend;
    this.watchedOnce = true;
    return stats;
  }

  private goDown(why: Down): void {
    if (this.down === why) return;
    const { log, root } = this.deps;
    if (why === 'root-gone')
      log.error({ root }, 'the watched directory vanished; the replica is left as it is until it returns');
    if (why === 'unmounted')
      log.error(
        { root },
        'the file system of the watched directory was unmounted: nothing is sent, the replica is left as it is until it is mounted again',
      );
    if (why === 'root-replaced')
      log.error(
        { root, resolved: this.origin?.resolved },
        'the watched directory was replaced (by a symlink or by a directory of another owner): nothing is sent, ' +
          'the replica is left as it is; put the original directory back, or restart sersync2 to accept the new one',
      );
    this.down = why;
    const old = this.watcher;
    this.watcher = null;
    const memory = old?.mountMemory?.();
    if (memory !== undefined && this.watched !== null) this.kept = { of: this.watched, memory };
    void old?.close();
  }

  private arm(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.check();
      this.syncGaps();
      this.logGaps();
      this.arm();
    }, this.deps.pollMs);
    this.timer.unref();
  }

  /** Looks at the root and acts on what changed. */
  private check(): void {
    if (this.closed || this.restarting !== null || this.origin === null) return;
    const look = lookAtRoot(this.deps.root);
    const verdict = judgeRoot(this.origin, look);
    const { log, root } = this.deps;
    switch (verdict) {
      case 'unknown':
        return; // the next look tells (the sends, out of descriptors too, fail and say why)
      case 'gone':
        return this.goDown('root-gone');
      case 'replaced':
        return this.goDown('root-replaced');
      case 'same':
        if (this.down !== null) this.reopen('the watched directory is back: watching it again and resyncing');
        return;
      case 'returned':
      case 'switched': {
        const uncovered =
          verdict === 'returned' && look.kind === 'dir' && this.first !== null && sameId(look.id, this.first);
        if (verdict === 'returned' && look.kind === 'dir' && !uncovered && this.unmountedUnder(look.resolved))
          return this.goDown('unmounted');
        const next = originOf(look);
        if (next === null) return;
        const from = this.origin.resolved;
        this.origin = next;
        if (verdict === 'switched') {
          this.switches++;
          log.warn(
            { root, from, to: next.resolved },
            'the watched symlink points to another directory: watching it and resyncing the tree',
          );
        }
        this.goDown('watcher-restarting');
        this.reopen(
          verdict === 'switched'
            ? 'watching the new target of the symlink'
            : uncovered
              ? 'the file system mounted over the watched directory was unmounted: watching the directory it covered (the one watched at start) again and resyncing'
              : 'the watched directory is another one of the same owner (recreated, mounted over or remounted): watching it again and resyncing',
        );
        return;
      }
    }
  }

  /**
   * Whether the root's file system was unmounted, leaving the directory it was mounted on in its
   * place (not the one watched at start): no reason to make the replica a copy of that directory;
   * wait for the mount instead.
   */
  private unmountedUnder(resolved: string): boolean {
    if (this.origin === null) return false;
    const mounts = readMountTable();
    const dev = deviceOf(this.origin.id.dev);
    const point = fromUtf8(resolved);
    return !mounts.some((m) => m.dev === dev) && !mounts.some((m) => m.point === point);
  }

  private reopen(message: string): void {
    const { log, root } = this.deps;
    this.restarting = this.open().then(
      () => {
        this.restarting = null;
        this.reopenError = null;
        if (this.closed) return;
        this.down = null;
        log.warn({ root, resolved: this.origin?.resolved }, message);
        this.deps.push({ kind: 'resync' });
        this.deps.resumed();
      },
      (err: unknown) => {
        this.restarting = null;
        this.watcher = null;
        // tried again at each look (every second): said when the reason changes, not each time
        const error = err instanceof Error ? err.message : String(err);
        if (error !== this.reopenError) log.error({ root, error }, 'cannot watch the directory again');
        this.reopenError = error;
      },
    );
  }

  /**
   * Directories left unwatched at the limit are sent whole now and then, until they can be watched;
   * pruned, since no event tells what went from them.
   */
  private syncGaps(): void {
    const every = this.deps.gapSyncMs;
    if (this.watcher === null || every === null || Date.now() - this.lastGapSync < every) return;
    this.lastGapSync = Date.now();
    for (const g of this.watcher.health().gaps)
      if (g.reason === 'watch-limit') this.deps.push({ kind: 'tree', path: g.path, prune: true });
  }

  /** Says when the parts of the tree that are not followed change: once per gap. */
  private logGaps(): void {
    if (this.watcher === null) return;
    const health = this.watcher.health();
    const now = new Set(health.gaps.map((g) => `${g.reason}\0${g.path}`));
    const added = health.gaps.filter((g) => !this.knownGaps.has(`${g.reason}\0${g.path}`));
    const { log, root } = this.deps;
    // The limit is said when it is first reached; the directories it leaves out change as it
    // goes, and status lists them.
    const wasLimited = [...this.knownGaps].some((k) => k.startsWith('watch-limit\0'));
    const limited = health.gaps.filter((g) => g.reason === 'watch-limit');
    if (limited.length > 0 && !wasLimited) {
      const needed = this.watcher.watchedDirectories() + health.unwatchedDirectories;
      const every = this.deps.gapSyncMs;
      log.warn(
        {
          root,
          unwatchedDirectories: health.unwatchedDirectories,
          paths: limited.slice(0, SHOWN_GAPS).map((g) => displayPath(g.path)),
          ...(every === null ? {} : { gapSyncSeconds: every / 1000 }),
        },
        (every === null
          ? 'part of the tree is not watched: its changes are missed until it can be: '
          : `part of the tree is not watched, and is sent whole every ${every / 1000} s until it can be: `) +
          watchLimitError(needed, root).message,
      );
    }
    for (const g of added.filter((x) => x.reason === 'unwatchable'))
      log.error(
        { root, path: displayPath(g.path), why: g.why },
        'a directory cannot be watched: changes in it are missed until it can be (tried again every second)',
      );
    for (const g of added.filter((x) => x.reason === 'unmounted'))
      log.error(
        { root, path: displayPath(g.path) },
        'a file system mounted in the tree went away: its content is not replicated (the replica keeps its copy) until it is mounted again',
      );
    if ([...this.knownGaps].some((k) => !now.has(k)) && health.gaps.length === 0)
      log.info({ root }, 'the whole tree is watched again');
    this.knownGaps = now;
  }
}
