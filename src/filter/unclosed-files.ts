import type { BigIntStats } from 'node:fs';
import { backoffMs } from '../backoff.js';
import type { RelPath } from '../paths.js';
import { HeldFiles } from './held-files.js';

/**
 * How long a file nobody has closed must stay unchanged before it is sent, the first time (see
 * `MAX_UNCLOSED_SETTLE_MS`). A created file has no copy on the replica to spoil: it goes after a
 * second (a maildir delivery). A file written in place does: a writer that only pauses (a slow
 * upload over it) would have its half-written file replace the replica's whole one, so it waits
 * longer; those that keep a file open for good (a database, a log) rarely need it sooner.
 */
export const UNCLOSED_SETTLE_MS = { created: 1000, written: 5000 } as const;

/**
 * The longest such a file waits: one sent while still open waits twice as long the next time it
 * is written, until its writer closes it, so a log appended now and then by a process that keeps
 * it open costs one send a minute, not one at each pause.
 */
export const MAX_UNCLOSED_SETTLE_MS = 60_000;

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
    root: string,
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
    if (this.holds(path)) this.held.hold(path, st, this.settleFor(path, 'created'));
  }

  /** A file written (IN_MODIFY) whose close has not come. */
  written(path: RelPath): void {
    if (!this.held.has(path) && this.holds(path))
      this.held.hold(path, undefined, this.settleFor(path, 'written'));
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

  /** How long `path`, created or written in place, must stay unchanged if it is held now. */
  settleFor(path: RelPath, how: 'created' | 'written'): number {
    return backoffMs((this.sentOpen.get(path) ?? 0) + 1, this.settleMs[how], MAX_UNCLOSED_SETTLE_MS);
  }
}
