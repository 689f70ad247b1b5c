import { SersyncError } from '../errors.js';
import { displayPath, joinRel, pathBytes, type RelPath } from '../paths.js';
import { WATCH_MASK } from './inotify-events.js';
import { errnoCode, type InotifyBinding, type InotifyHandle, type ScanEntries } from './native.js';
import type { DirNode, WatchTree } from './watch-tree.js';

export interface ScanResult {
  /** Directories left unwatched because the kernel's watch limit was reached (ENOSPC). */
  readonly overLimit: number;
}

export interface ScannerOptions {
  readonly binding: InotifyBinding;
  readonly handle: InotifyHandle;
  readonly tree: WatchTree;
  /** The root's absolute path. */
  readonly root: string;
  readonly xfs: boolean;
  readonly skipDir: (rel: RelPath) => boolean;
  /** What is worth a log line: a directory on the way that became a symlink, the root unreadable. */
  readonly report: (err: Error) => void;
  /**
   * A directory that could not be opened, watched or read for another reason than vanishing or
   * the watch limit (its path longer than PATH_MAX, no permission): the top of a gap, to be tried
   * again. `why` says what stops it.
   */
  readonly unwatchable: (parent: DirNode, name: RelPath, why: string) => void;
  /**
   * A directory that vanished before it could be watched (ENOENT): deleted, or renamed away
   * with an ancestor whose rename is still in the event queue (then it must be watched later).
   */
  readonly vanished: (parent: DirNode, name: RelPath, rel: RelPath) => void;
  /** A directory the kernel refused to watch (ENOSPC) whose parent is watched: the top of a gap. */
  readonly overLimit?: (parent: DirNode, name: RelPath) => void;
}

/** Reading a directory that is gone or is no directory (any more) is no failure: its events say so. */
const GONE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP']);

/**
 * Puts an inotify watch on a directory and on every directory below it, top-down: a directory is
 * watched before it is read, so a subdirectory made after the read is reported by the watch and one
 * made before it is found by the read. The walk is the native addon's (one call, no object per
 * directory entry); this maps its result into the tree. After ENOSPC it keeps walking, only
 * counting, so the error can say how many watches the tree needs.
 */
export class TreeScanner {
  private readonly rootBytes: Buffer;

  constructor(private readonly o: ScannerOptions) {
    this.rootBytes = Buffer.from(o.root);
  }

  /** Watches the whole tree into a fresh wd map. Throws if the root itself cannot be watched. */
  watchRoot(): ScanResult {
    const found = this.scan('');
    const rootWd = found.wd[0] ?? -1;
    if (rootWd <= 0) throw found.failures.find((f) => f.index === 0)?.error ?? new Error('no watch');
    return this.place(found, this.o.tree.setRoot(rootWd), '');
  }

  /** Watches `name` in `parent` and everything below it (a new or moved-in directory). */
  watchSubtree(parent: DirNode, name: RelPath): ScanResult {
    if (this.o.tree.get(parent.wd) !== parent) return { overLimit: 0 }; // its parent left the tree
    const rel = joinRel(this.o.tree.pathOf(parent), name);
    if (this.o.skipDir(rel)) return { overLimit: 0 };
    let found: ScanEntries;
    try {
      found = this.scan(rel);
    } catch (err) {
      // Its own path is past PATH_MAX: the binding takes it by path.
      if (errnoCode(err) !== 'ENAMETOOLONG') throw err;
      this.o.unwatchable(parent, name, whyUnwatchable(err as NodeJS.ErrnoException));
      return { overLimit: 0 };
    }
    return this.place(found, { parent, name }, rel);
  }

  private scan(rel: RelPath): ScanEntries {
    const skip = (r: string): boolean => this.o.skipDir(r);
    return this.o.binding.scan(this.o.handle, this.absolute(rel), rel, WATCH_MASK, this.o.xfs, skip);
  }

  /**
   * Puts the scanned directories into the tree. `start` is entry 0: already placed (the root), or
   * still to place as `name` in `parent`.
   */
  private place(
    found: ScanEntries,
    start: DirNode | { parent: DirNode; name: RelPath },
    rel: RelPath,
  ): ScanResult {
    const { tree } = this.o;
    const { failedToWatch, failedToRead } = splitFailures(found);
    const nodes: (DirNode | undefined)[] = [];
    let overLimit = 0;
    for (let i = 0; i < found.wd.length; i++) {
      const wd = found.wd[i] ?? -1;
      const parent = i === 0 ? ('wd' in start ? undefined : start.parent) : nodes[found.parent[i] ?? -1];
      const name = i === 0 && !('wd' in start) ? start.name : (found.name[i] ?? '');
      const err = failedToWatch.get(i);
      const code = errnoCode(err);
      if (wd === 0 || code === 'ENOSPC') {
        overLimit++;
        if (parent !== undefined && wd !== 0) this.o.overLimit?.(parent, name);
        continue;
      }
      if (i === 0 && 'wd' in start) {
        nodes[i] = start;
      } else if (wd > 0 && parent !== undefined) {
        const placed = tree.place(wd, parent, name);
        for (const stale of placed.replaced) this.unwatch(stale);
        nodes[i] = placed.node;
      } else if (parent !== undefined && (code === 'ENOENT' || code === 'ELOOP')) {
        // ELOOP: a directory on its path is a symlink now; the real one may come back (a rename)
        if (code === 'ELOOP') this.o.report(this.failure(this.relOf(found, i, rel), err));
        this.o.vanished(parent, name, joinRel(tree.pathOf(parent), name));
      } else if (parent !== undefined && err !== undefined && code !== 'ENOTDIR') {
        this.o.unwatchable(parent, name, whyUnwatchable(err));
      }
      // Watched, but what is below it is unknown: a gap from here down.
      const unread = failedToRead.get(i);
      if (wd <= 0 || unread === undefined || GONE.has(errnoCode(unread) ?? '')) continue;
      if (parent === undefined) this.o.report(this.failure(this.relOf(found, i, rel), unread));
      else this.o.unwatchable(parent, name, whyUnwatchable(unread));
    }
    return { overLimit };
  }

  /** Entry i's path below the root, from the scan's names (for messages). */
  private relOf(found: ScanEntries, i: number, start: RelPath): RelPath {
    const names: string[] = [];
    for (let n = i; n > 0; n = found.parent[n] ?? 0) names.unshift(found.name[n] ?? '');
    return names.reduce<RelPath>((path, name) => joinRel(path, name), start);
  }

  private unwatch(wd: number): void {
    try {
      this.o.binding.rmWatch(this.o.handle, wd);
    } catch {
      // EINVAL: the kernel already dropped it
    }
  }

  private absolute(rel: RelPath): Buffer {
    return rel === '' ? this.rootBytes : Buffer.concat([this.rootBytes, SLASH, pathBytes(rel)]);
  }

  private failure(rel: RelPath, err: unknown): SersyncError {
    const where = rel === '' ? this.o.root : `${this.o.root}/${displayPath(rel)}`;
    const why = err instanceof Error ? err.message : String(err);
    if (errnoCode(err) === 'ELOOP') {
      const skipped = `skipped ${where}: it or a directory above it is a symbolic link now (links are never followed out of the tree)`;
      return new SersyncError('ERR_SERSYNC_WATCH', skipped, { cause: err });
    }
    return new SersyncError('ERR_SERSYNC_WATCH', `cannot watch ${where}: ${why}`, { cause: err });
  }
}

const SLASH = Buffer.from('/');

/**
 * A scan's failures by entry: the first of an entry that was not watched (wd -1) is why; any
 * other is a failure to read a directory (its subdirectories are unknown).
 */
function splitFailures(found: ScanEntries): {
  failedToWatch: Map<number, NodeJS.ErrnoException>;
  failedToRead: Map<number, NodeJS.ErrnoException>;
} {
  const failedToWatch = new Map<number, NodeJS.ErrnoException>();
  const failedToRead = new Map<number, NodeJS.ErrnoException>();
  for (const { index, error } of found.failures) {
    if (found.wd[index] === -1 && !failedToWatch.has(index)) failedToWatch.set(index, error);
    else failedToRead.set(index, error);
  }
  return { failedToWatch, failedToRead };
}

/** What keeps a directory from being watched, for status. */
function whyUnwatchable(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  if (code === 'ENAMETOOLONG')
    return 'its path is longer than PATH_MAX, 4096 bytes: neither inotify nor rsync can reach it';
  if (code === 'EACCES' || code === 'EPERM') return `permission denied (${err.syscall ?? 'open'})`;
  return err.message;
}
