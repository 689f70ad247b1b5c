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
  /** A directory that could not be watched or read for another reason than vanishing (EACCES…). */
  readonly report: (err: Error) => void;
  /**
   * A directory that vanished before it could be watched (ENOENT): deleted, or renamed away
   * with an ancestor whose rename is still in the event queue (then it must be watched later).
   */
  readonly vanished: (parent: DirNode, name: RelPath, rel: RelPath) => void;
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
    return this.place(this.scan(rel), { parent, name }, rel);
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
    const failed = new Map(found.failures.map((f) => [f.index, f.error]));
    const nodes: (DirNode | undefined)[] = [];
    let overLimit = 0;
    for (let i = 0; i < found.wd.length; i++) {
      const wd = found.wd[i] ?? -1;
      const parent = i === 0 ? ('wd' in start ? undefined : start.parent) : nodes[found.parent[i] ?? -1];
      const name = i === 0 && !('wd' in start) ? start.name : (found.name[i] ?? '');
      const err = wd === -1 ? failed.get(i) : undefined;
      if (wd === 0 || errnoCode(err) === 'ENOSPC') {
        overLimit++;
      } else if (i === 0 && 'wd' in start) {
        nodes[i] = start;
      } else if (wd > 0 && parent !== undefined) {
        const placed = tree.place(wd, parent, name);
        for (const stale of placed.replaced) this.unwatch(stale);
        nodes[i] = placed.node;
      } else if (parent !== undefined && errnoCode(err) === 'ENOENT') {
        this.o.vanished(parent, name, joinRel(tree.pathOf(parent), name));
      } else if (err !== undefined && errnoCode(err) !== 'ENOTDIR') {
        this.o.report(this.failure(this.relOf(found, i, rel), err));
      }
    }
    for (const { index, error } of found.failures) {
      if (error.syscall !== 'inotify_add_watch' && !GONE.has(errnoCode(error) ?? ''))
        this.o.report(this.failure(this.relOf(found, index, rel), error));
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
    return new SersyncError('ERR_SERSYNC_WATCH', `cannot watch ${where}: ${why}`, { cause: err });
  }
}

const SLASH = Buffer.from('/');
