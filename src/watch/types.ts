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
  | { readonly type: 'root-gone' };

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
}

export interface WatchStats {
  readonly backend: Exclude<WatcherBackend, 'auto'>;
  /** Directories under watch (the root included). */
  readonly directories: number;
  /** Time from `start()` to every watch in place. */
  readonly readyMs: number;
}

export interface Watcher {
  /** Sets the watches on the whole tree; resolves when they are all in place. */
  start(): Promise<WatchStats>;
  /** Directories under watch now. */
  watchedDirectories(): number;
  close(): Promise<void>;
}
