import { lstat, readdir } from 'node:fs/promises';
import { SersyncError } from '../errors.js';
import { displayPath, joinRel, pathBytes, type RelPath } from '../paths.js';
import { WATCH_MASK } from './inotify-events.js';
import { errnoCode, type InotifyBinding, type InotifyHandle } from './native.js';
import type { DirNode, WatchTree } from './watch-tree.js';

/** Directory reads in flight at once: enough to keep the disk busy, few enough to bound memory. */
const SCAN_CONCURRENCY = 8;

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
  /** A directory the kernel refused to watch (ENOSPC) whose parent is watched: the top of a gap. */
  readonly overLimit?: (parent: DirNode, name: RelPath) => void;
}

/** A directory to visit: `name` in `parent`; a null `parent` (over the watch limit): only count it. */
interface Visit {
  readonly parent: DirNode | null;
  readonly name: RelPath;
  readonly rel: RelPath;
}

/**
 * Puts an inotify watch on a directory and on every directory below it, top-down: a directory is
 * watched before it is read, so a subdirectory made after the read is reported by the watch and one
 * made before it is found by the read. After ENOSPC it keeps walking, only counting, so the error
 * can say how many watches the tree needs.
 */
export class TreeScanner {
  private readonly rootBytes: Buffer;

  constructor(private readonly o: ScannerOptions) {
    this.rootBytes = Buffer.from(o.root);
  }

  /** Watches the whole tree into a fresh wd map. Throws if the root itself cannot be watched. */
  async watchRoot(): Promise<ScanResult> {
    const wd = this.o.binding.addWatch(this.o.handle, this.rootBytes, WATCH_MASK);
    const root = this.o.tree.setRoot(wd);
    return this.walk(await this.visitChildren(root, ''));
  }

  /** Watches `name` in `parent` and everything below it (a new or moved-in directory). */
  watchSubtree(parent: DirNode, name: RelPath): Promise<ScanResult> {
    return this.walk([{ parent, name, rel: joinRel(this.o.tree.pathOf(parent), name) }]);
  }

  private async walk(start: Visit[]): Promise<ScanResult> {
    let overLimit = 0;
    await boundedWalk(start, SCAN_CONCURRENCY, async (v) => {
      const node = v.parent === null ? null : this.watch(v.parent, v);
      if (node === undefined) return []; // vanished, or not a directory any more
      if (node === null) overLimit++;
      return this.visitChildren(node, v.rel);
    });
    return { overLimit };
  }

  /** Watches one directory: its node, null when over the watch limit, undefined when it is gone. */
  private watch(parent: DirNode, v: Visit): DirNode | null | undefined {
    const { tree } = this.o;
    if (tree.get(parent.wd) !== parent) return undefined; // its parent left the tree meanwhile
    let wd: number;
    try {
      wd = this.o.binding.addWatch(this.o.handle, this.absolute(v.rel), WATCH_MASK);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOSPC') {
        this.o.overLimit?.(parent, v.name);
        return null;
      }
      if (code === 'ENOENT') this.o.vanished(parent, v.name, v.rel);
      else if (code !== 'ENOTDIR') this.o.report(this.failure(v.rel, err));
      return undefined;
    }
    const { node, replaced } = tree.place(wd, parent, v.name);
    for (const stale of replaced) this.unwatch(stale);
    return node;
  }

  private async visitChildren(node: DirNode | null, rel: RelPath): Promise<Visit[]> {
    let names: RelPath[];
    try {
      names = await this.subdirectories(this.absolute(rel));
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.o.report(this.failure(rel, err));
      return [];
    }
    return names
      .map((name) => ({ parent: node, name, rel: joinRel(rel, name) }))
      .filter((v) => !this.o.skipDir(v.rel));
  }

  /**
   * Names of the subdirectories (never symlinks), read as latin1: one char per byte, which is
   * exactly a byte-string RelPath, and twice as fast as a Buffer per name. Node's readdir already
   * lstat()s entries whose d_type is DT_UNKNOWN, but then one entry deleted meanwhile fails the
   * whole read; with `xfs` (file systems without d_type) each entry is lstat()ed here and a
   * vanished one is just skipped.
   */
  private async subdirectories(dir: Buffer): Promise<RelPath[]> {
    if (!this.o.xfs) {
      const entries = await readdir(dir, { withFileTypes: true, encoding: 'latin1' });
      return entries.filter((d) => d.isDirectory()).map((d) => d.name);
    }
    const names = await readdir(dir, { encoding: 'latin1' });
    const isDir = await Promise.all(
      names.map((name) =>
        lstat(Buffer.concat([dir, SLASH, pathBytes(name)])).then(
          (st) => st.isDirectory(),
          () => false,
        ),
      ),
    );
    return names.filter((_, i) => isDir[i]);
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

/**
 * Visits a tree breadth-agnostically with at most `concurrency` visits in flight; `visit` returns
 * the children to visit next. Resolves when every visit has finished.
 */
export function boundedWalk<T>(
  start: T[],
  concurrency: number,
  visit: (item: T) => Promise<T[]>,
): Promise<void> {
  const todo = [...start];
  let active = 0;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      while (active < concurrency && todo.length > 0) {
        const item = todo.pop() as T;
        active++;
        visit(item).then((children) => {
          active--;
          todo.push(...children);
          pump();
        }, reject);
      }
      if (active === 0 && todo.length === 0) resolve();
    };
    pump();
  });
}
