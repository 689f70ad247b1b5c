import { lstatSync, type BigIntStats } from 'node:fs';
import type { RelPath } from '../paths.js';
import { absoluteBytes } from '../sync/walk.js';

/** How long a file with a temporary-looking name must stay unchanged before it is sent. */
export const NAME_SETTLE_MS = 2000;

interface Held {
  timer: NodeJS.Timeout | undefined;
  /** size and mtime at the last look: a file still being written is looked at again. */
  seen: string;
  /** When it was first held (a file rewritten meanwhile keeps it): the change waits since then. */
  since: number;
}

/**
 * Holds the sends of regular files until each stays unchanged for a while. The lane holds two
 * kinds: files whose name looks temporary (`TEMP_FILE_RULES`: most vanish or are renamed within
 * moments, and then never travel; `.env.sample` matches rsync's `.name.XXXXXX` and is sent once
 * it stays), and files whose writer has not closed them (`UnclosedFiles`). A hold may delay a
 * file, never drop one that persists.
 */
export class HeldFiles {
  private readonly held = new Map<RelPath, Held>();

  constructor(
    private readonly root: string,
    /**
     * After the wait: `stays` when the file is still there, unchanged, and must be sent; `since`:
     * when it was first held (its change is that old).
     */
    private readonly settled: (path: RelPath, stays: boolean, since: number) => void,
    private readonly settleMs: number,
  ) {}

  /** Files held now. */
  get size(): number {
    return this.held.size;
  }

  /** The file held longest, and when it was first held (its change is that old), or null. */
  oldest(): { readonly path: RelPath; readonly since: number } | null {
    let oldest: { path: RelPath; since: number } | null = null;
    for (const [path, h] of this.held)
      if (oldest === null || h.since < oldest.since) oldest = { path, since: h.since };
    return oldest;
  }

  has(path: RelPath): boolean {
    return this.held.has(path);
  }

  /**
   * Holds the send of `path` until it stays unchanged for `settleMs`; false when it is not a
   * regular file (a symlink or FIFO: no program writes one bit by bit), which is not held. A file
   * gone already is not held either: nothing to send. `st`: its lstat, when the caller has just
   * taken it.
   */
  hold(path: RelPath, st?: BigIntStats, settleMs = this.settleMs): boolean {
    const seen = st === undefined ? this.look(path) : signature(st);
    if (seen === 'other') return false;
    if (seen !== null) this.wait(path, seen, settleMs);
    return true;
  }

  /** Its send no longer needs the wait (it was announced another way). */
  forget(path: RelPath): void {
    const h = this.held.get(path);
    if (h === undefined) return;
    clearTimeout(h.timer);
    this.held.delete(path);
  }

  /** Stops holding; returns the files it held (their sends are owed). */
  stop(): RelPath[] {
    for (const h of this.held.values()) clearTimeout(h.timer);
    const paths = [...this.held.keys()];
    this.held.clear();
    return paths;
  }

  private wait(path: RelPath, seen: string, settleMs: number, since?: number): void {
    const prev = this.held.get(path);
    if (prev !== undefined) clearTimeout(prev.timer);
    const held: Held = { timer: undefined, seen, since: since ?? prev?.since ?? Date.now() };
    held.timer = setTimeout(() => {
      this.held.delete(path);
      const now = this.look(path);
      // `held.since`, not a copy: shiftTimes may have moved it meanwhile
      if (now !== null && now !== seen && now !== 'other') return this.wait(path, now, settleMs, held.since); // still written
      this.settled(path, now !== null, held.since); // null: it vanished, it was a temporary file
    }, settleMs);
    this.held.set(path, held);
  }

  /** The wall clock stepped by `deltaMs`: when each file was first held moves with it. */
  shiftTimes(deltaMs: number): void {
    for (const h of this.held.values()) h.since += deltaMs;
  }

  /** A regular file's size, mtime and inode; 'other' for another kind of entry; null when gone. */
  private look(path: RelPath): string | null {
    const st = lstatIn(this.root, path);
    return st === null ? null : signature(st);
  }
}

/** `path`'s lstat in the tree at `root`, or null when it is gone. */
export function lstatIn(root: string, path: RelPath): BigIntStats | null {
  try {
    return lstatSync(absoluteBytes(root, path), { bigint: true });
  } catch {
    return null;
  }
}

function signature(st: BigIntStats): string {
  return st.isFile() ? `${st.size}:${st.mtimeNs}:${st.ino}` : 'other';
}
