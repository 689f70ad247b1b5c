import type { RelPath } from '../paths.js';
import type { WatcherBackend } from '../config/types.js';

/**
 * What a watcher reports about one tree: kernel-exact changes, paths relative to the watched
 * root (byte strings, see paths.ts; '' is the root itself). The watcher reports every change it
 * sees; the filter stage applies the config's `<inotify>` toggles and exclude rules.
 */
export type WatchEvent =
  /** A new entry (IN_CREATE). A new directory is already watched, with everything below it. */
  | { readonly type: 'create'; readonly path: RelPath; readonly isDir: boolean }
  /** A file was closed after writing (IN_CLOSE_WRITE). */
  | { readonly type: 'write'; readonly path: RelPath }
  /** A file's content changed, still open (IN_MODIFY). */
  | { readonly type: 'modify'; readonly path: RelPath }
  /** Metadata changed (IN_ATTRIB): mode, owner, times. */
  | { readonly type: 'attrib'; readonly path: RelPath; readonly isDir: boolean }
  /** An entry was removed (IN_DELETE). */
  | { readonly type: 'delete'; readonly path: RelPath; readonly isDir: boolean }
  /** Moved in from outside the tree (IN_MOVED_TO without a partner). A directory is watched with its subtree. */
  | { readonly type: 'move-in'; readonly path: RelPath; readonly isDir: boolean }
  /** Moved out of the tree (IN_MOVED_FROM without a partner). Its watches are gone. */
  | { readonly type: 'move-out'; readonly path: RelPath; readonly isDir: boolean }
  /** Renamed within the tree (IN_MOVED_FROM + IN_MOVED_TO paired by cookie). */
  | { readonly type: 'rename'; readonly from: RelPath; readonly to: RelPath; readonly isDir: boolean }
  /** The kernel dropped events (IN_Q_OVERFLOW): the tree must be resynced. */
  | { readonly type: 'overflow' }
  /** The watched root itself was deleted or moved away. Never a reason to delete the replica. */
  | { readonly type: 'root-gone' }
  /**
   * A directory whose watches were lost or missing (a file system mounted over it, or mounted after
   * start and unmounted again, the watch limit) is watched again: what changed meanwhile is unknown,
   * so the tree must be resynced. `unwatchable`: a directory that could not be watched at all can be
   * now; only it has to be sent.
   */
  | {
      readonly type: 'rewatched';
      readonly path: RelPath;
      readonly why: 'mounted' | 'unmounted' | 'watch-limit' | 'unwatchable';
    }
  /** The watcher cannot go on (its read failed): it must be closed and started afresh, the tree resynced. */
  | { readonly type: 'failed'; readonly reason: string };

export type WatchEventType = WatchEvent['type'];

export interface WatcherOptions {
  /** Absolute path of the tree's root. */
  readonly root: string;
  /** `<fileSystem xfs="true">`: use stat() when readdir's d_type is unknown. */
  readonly xfs: boolean;
  /** Directories for which this returns true are not watched, nor anything below them. */
  readonly skipDir: (rel: RelPath) => boolean;
  /** Called with each batch of events, in kernel order. Never called after `close()` resolves. */
  readonly onEvents: (events: readonly WatchEvent[]) => void;
  /** A failure after start (e.g. the watch limit reached while adding a new directory). */
  readonly onError: (err: Error) => void;
  /**
   * How often the watcher looks for what no event tells: file systems mounted or unmounted in the
   * tree, directories left unwatched at the watch limit (default 1000 ms).
   */
  readonly recheckMs?: number | undefined;
  /**
   * A tree past the watch limit at `start()`: false (a first start) fails with the number needed;
   * true (the tree watched again after a restore, a reload) starts with the directories that do not
   * fit as `watch-limit` gaps, as when it grows past the limit while running, so that replication
   * goes on degraded instead of stopping.
   */
  readonly degradeAtLimit?: boolean;
  /**
   * What the previous watcher of the same directory knew of the mounts in it (its `mountMemory()`),
   * for a watcher started in its place: a restart must not change which mounts cover a directory of
   * the tree's own and which left a stranger behind. The consumer resyncs the tree after a restart,
   * so the new watcher reports nothing of what changed meanwhile. Without it, every mount in the
   * tree at `start()` counts as there when watching began.
   */
  readonly mountMemory?: MountMemory | undefined;
}

/** What an inotify watcher knows of the mounts in its tree (see `WatcherOptions.mountMemory`). */
export interface MountMemory {
  /** Mount ids by mount point (relative to the root), as last looked at. */
  readonly mounts: ReadonlyMap<RelPath, string>;
  /** The mounts the tree had when watching began, or that took the place of one gone. */
  readonly original: ReadonlySet<string>;
  /** The `unmounted` gaps. */
  readonly unmounted: ReadonlySet<RelPath>;
}

/** Why part of a tree is not replicated as it changes. */
export type GapReason = 'watch-limit' | 'unmounted' | 'unwatchable';

/** A directory (with everything below it) the watcher cannot follow now. */
export interface WatchGap {
  readonly path: RelPath;
  /**
   * `watch-limit`: not watched (the kernel refused more watches); `unmounted`: a file system that
   * was mounted here when watching began is gone (the directory under it is watched, its content is
   * not the tree's); `unwatchable`: the kernel would not let it be opened, watched or read for
   * another reason (its path longer than PATH_MAX, no permission): nothing below it is watched.
   */
  readonly reason: GapReason;
  /** For `unwatchable`: why. */
  readonly why?: string;
}

export interface WatchHealth {
  /** The topmost directories the watcher cannot follow, in the order they were found. */
  readonly gaps: readonly WatchGap[];
  /** Directories with no watch (the watch-limit gaps and everything below them). */
  readonly unwatchedDirectories: number;
}

export interface WatchStats {
  readonly backend: Exclude<WatcherBackend, 'auto'>;
  /** Directories under watch (the root included). */
  readonly directories: number;
  /** Time from `start()` to every watch in place. */
  readonly readyMs: number;
}

/** The longest a watcher's drain takes (see Watcher.drain): a stop is not held up longer. */
export const MAX_DRAIN_MS = 5000;

export interface Watcher {
  /** Sets the watches on the whole tree; resolves when they are all in place. */
  start(): Promise<WatchStats>;
  /** Directories under watch now. */
  watchedDirectories(): number;
  /** What the watcher cannot follow now; no gaps when the whole tree is watched. */
  health(): WatchHealth;
  /** For the watcher started in this one's place (absent when the watcher does not follow mounts). */
  mountMemory?(): MountMemory | undefined;
  /**
   * Before a final stop: hands on the changes that happened before it and were not yet reported
   * (queued in the kernel, read but not handled), which a close drops. True when it could hand on
   * all of them; false when some may be lost (the stop then queues a full sync of the tree).
   * Absent: nothing is held.
   */
  drain?(): Promise<boolean>;
  /**
   * Resolves once the changes made before the call have all been reported (a change is reported
   * some time after it is made: a sync that ran meanwhile may have sent what no event told of yet).
   */
  settled(): Promise<void>;
  close(): Promise<void>;
}
