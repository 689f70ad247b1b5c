import { lstatSync } from 'node:fs';
import { baseName, displayPath, type RelPath } from '../paths.js';
import { absoluteBytes } from '../sync/walk.js';

/** How long a file with a temporary-looking name must stay unchanged before it is sent. */
export const NAME_SETTLE_MS = 2000;

interface Held {
  timer: NodeJS.Timeout;
  /** size and mtime at the last look: a file still being written is looked at again. */
  seen: string;
  /** When it was first held (a file rewritten meanwhile keeps it): the change waits since then. */
  since: number;
}

/**
 * Holds the sends of files whose name looks temporary (`TEMP_FILE_RULES`): most vanish or are
 * renamed within moments, and then they never travel; one that stays, unchanged for `settleMs`,
 * is a real file (`.env.sample` matches rsync's `.name.XXXXXX`) and is released to be sent. A
 * name rule may delay a file, never drop one that persists.
 */
export class NameDelay {
  private readonly held = new Map<RelPath, Held>();

  constructor(
    private readonly root: string,
    private readonly looksTemporary: (name: string) => boolean,
    /** After the wait: `stays` when the file is still there, unchanged, and must be sent. */
    private readonly settled: (path: RelPath, stays: boolean) => void,
    private readonly settleMs = NAME_SETTLE_MS,
  ) {}

  /** Files held now. */
  get size(): number {
    return this.held.size;
  }

  /** When the file held longest was first held, or null: its change is that old. */
  oldestSince(): number | null {
    let oldest: number | null = null;
    for (const h of this.held.values()) if (oldest === null || h.since < oldest) oldest = h.since;
    return oldest;
  }

  /** True when the send of `path` (a file) is held; it is released later if the file stays. */
  hold(path: RelPath): boolean {
    if (!this.looksTemporary(displayPath(baseName(path)))) return false;
    const seen = this.look(path);
    if (seen === 'other') return false; // a symlink or FIFO: no program writes one as a temp file
    if (seen !== null) this.wait(path, seen); // else gone already: nothing to send
    return true;
  }

  stop(): void {
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
  }

  private wait(path: RelPath, seen: string, since?: number): void {
    const prev = this.held.get(path);
    if (prev !== undefined) clearTimeout(prev.timer);
    const first = since ?? prev?.since ?? Date.now();
    const timer = setTimeout(() => {
      this.held.delete(path);
      const now = this.look(path);
      if (now !== null && now !== seen && now !== 'other') return this.wait(path, now, first); // still written
      this.settled(path, now !== null); // null: it vanished, it was a temporary file
    }, this.settleMs);
    this.held.set(path, { timer, seen, since: first });
  }

  /** A regular file's size, mtime and inode; 'other' for another kind of entry; null when gone. */
  private look(path: RelPath): string | null {
    try {
      const st = lstatSync(absoluteBytes(this.root, path), { bigint: true });
      return st.isFile() ? `${st.size}:${st.mtimeNs}:${st.ino}` : 'other';
    } catch {
      return null;
    }
  }
}
