import type { BigIntStats } from 'node:fs';
import { backoffMs } from '../backoff.js';
import type { RelPath } from '../paths.js';
import { HeldFiles, lstatIn } from './held-files.js';

/**
 * How long a file nobody has closed must stay unchanged before it is sent, the first time (see
 * `MAX_UNCLOSED_SETTLE_MS`). A created file has no copy on the replica to spoil: it goes after a
 * second (a maildir delivery). A file written in place does: a writer that only pauses (a slow
 * upload over it) would have its half-written file replace the replica's whole one, so it waits
 * longer; those that keep a file open for good (a database, a log) rarely need it sooner.
 */
export const UNCLOSED_SETTLE_MS = { created: 1000, written: 5000 } as const;

/**
 * The longest such a file waits (but see `openSendWaitMs`): one sent while still open waits twice
 * as long the next time it is written, until its writer closes it, so a log appended now and then
 * by a process that keeps it open costs one send a minute, not one at each pause.
 */
export const MAX_UNCLOSED_SETTLE_MS = 60_000;

/** A big file's longest wait grows by 1 ms for each 10 kB of it: 10 MB a second. */
const BYTES_PER_WAIT_MS = 10_000;

/**
 * How long a file nobody has closed must stay unchanged before it is sent, after `sentOpen` sends
 * while open since its last close: `firstMs`, doubling, up to a minute, or one second per 10 MB
 * of the file when that is longer. Each send reads the file whole on both sides to compare it,
 * so a live 10 GB database sent once a minute would keep both disks busy; once every 17 minutes
 * it costs 10 MB/s at most.
 */
export function openSendWaitMs(sentOpen: number, firstMs: number, sizeBytes: number): number {
  const cap = Math.max(MAX_UNCLOSED_SETTLE_MS, Math.ceil(sizeBytes / BYTES_PER_WAIT_MS));
  return backoffMs(sentOpen + 1, firstMs, cap);
}

/** How many files sent while open are remembered (each costs a map entry until its close). */
const MAX_COUNTED = 10_000;

/**
 * Regular files whose writer has not closed them, held until it does or they stay unchanged, then
 * sent. Two kinds get no close_write for their content: a created name linked to content written
 * under another name (maildir's delivery, git's objects, an O_TMPFILE file linked in), and a file
 * written in place by a process that keeps it open (a live SQLite database, a log). sersync waited
 * for the close, for ever, and said nothing. A hold stands in for a close that would be
 * replicated: with `closeWrite` off nothing is held, nor is a temporary-looking name (an editor's
 * swap file stays open while it edits, and is never sent).
 */
export class UnclosedFiles {
  private readonly held: HeldFiles;
  /** Files sent while still open, and how many times since their last close. */
  private readonly sentOpen = new Map<RelPath, number>();

  constructor(
    private readonly root: string,
    private readonly rules: {
      /** Whether closes are replicated (`<closeWrite>`). */
      readonly closeWrite: boolean;
      readonly looksTemporary: (path: RelPath) => boolean;
    },
    /** A held file stayed unchanged (`stays`) or vanished; `since`: when it was first held. */
    settled: (path: RelPath, stays: boolean, since: number) => void,
    private readonly settleMs: { readonly created: number; readonly written: number } = UNCLOSED_SETTLE_MS,
  ) {
    this.held = new HeldFiles(
      root,
      (path, stays, since) => {
        if (stays) this.countSentOpen(path);
        settled(path, stays, since);
      },
      settleMs.created,
    );
  }

  /** The wall clock stepped by `deltaMs` (see HeldFiles.shiftTimes). */
  shiftTimes(deltaMs: number): void {
    this.held.shiftTimes(deltaMs);
  }

  /** Files held now. */
  get size(): number {
    return this.held.size;
  }

  /** The file held longest, and since when, or null. */
  oldest(): { readonly path: RelPath; readonly since: number } | null {
    return this.held.oldest();
  }

  /** A regular file created with no close_write by its dispatch (`st`: its lstat then). */
  created(path: RelPath, st: BigIntStats): void {
    if (this.holds(path)) this.held.hold(path, st, this.settleFor(path, 'created', st.size));
  }

  /** A file written (IN_MODIFY) whose close has not come. */
  written(path: RelPath): void {
    if (this.held.has(path) || !this.holds(path)) return;
    // gone (null): its delete event follows, or it is an unnamed O_TMPFILE file's `#<inode>`
    const st = lstatIn(this.root, path);
    if (st?.isFile() === true) this.held.hold(path, st, this.settleFor(path, 'written', st.size));
  }

  /** Its content was announced (closed), or it is gone or renamed: no hold, and no longer open. */
  closed(path: RelPath): void {
    this.held.forget(path);
    this.sentOpen.delete(path);
  }

  /** Stops holding; returns the files it held (their sends are owed). */
  stop(): RelPath[] {
    return this.held.stop();
  }

  private holds(path: RelPath): boolean {
    return this.rules.closeWrite && !this.rules.looksTemporary(path);
  }

  private countSentOpen(path: RelPath): void {
    // A file whose close or removal goes unseen (`<delete>` off) keeps its count: bounded, they start again.
    if (this.sentOpen.size >= MAX_COUNTED && !this.sentOpen.has(path)) this.sentOpen.clear();
    this.sentOpen.set(path, (this.sentOpen.get(path) ?? 0) + 1);
  }

  /** How long `path` (created or written in place, `size` bytes) must stay unchanged if held now. */
  settleFor(path: RelPath, how: 'created' | 'written', size: bigint): number {
    return openSendWaitMs(this.sentOpen.get(path) ?? 0, this.settleMs[how], Number(size));
  }
}
