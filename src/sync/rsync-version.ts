/**
 * The installed rsync, as far as the tree's boundary depends on it: rsync ≥ 3.5 refuses to follow
 * a link planted in the middle of a listed path (another user's), older ones follow it if it is
 * planted between our listing and their read. `check` and every start say so.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export interface RsyncVersion {
  readonly major: number;
  readonly minor: number;
  /** As rsync prints it (`3.2.7`). */
  readonly text: string;
}

/** The version on `rsync --version`'s first line (`rsync  version 3.2.7  protocol version 31`). */
export function parseRsyncVersion(output: string): RsyncVersion | null {
  const m = /^rsync\s+version\s+v?((\d+)\.(\d+)[^\s]*)/m.exec(output);
  if (m === null) return null;
  return { text: m[1] ?? '', major: Number(m[2]), minor: Number(m[3]) };
}

/** What an operator must know about this rsync; null when nothing. */
export function rsyncWarning(version: RsyncVersion | null, error: string | null): string | null {
  if (version === null)
    return `cannot run rsync (${error ?? 'no version in its output'}): every sync will fail until it is installed`;
  if (version.major > 3 || (version.major === 3 && version.minor >= 5)) return null;
  return (
    `rsync ${version.text} follows a symlink planted in the middle of a listed path between the listing ` +
    'and its read; where users other than root write the watched tree, install rsync 3.5 or later'
  );
}

/** Runs `rsync --version`: the version, or why there is none. */
export async function installedRsync(): Promise<{ version: RsyncVersion | null; error: string | null }> {
  try {
    const { stdout } = await promisify(execFile)('rsync', ['--version'], { timeout: 10_000 });
    return { version: parseRsyncVersion(stdout), error: null };
  } catch (err) {
    return { version: null, error: (err as Error).message };
  }
}

/**
 * The installed rsync looked at once, a while after the start: the look spawns rsync, a fork of this
 * process that would delay the first changes (the bench saw +10 ms on the first). Its problem is
 * logged, and kept for status and /metrics.
 */
export class LaterRsyncCheck {
  /** What `rsyncWarning` found, or null: nothing wrong, or not looked at yet. */
  problem: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly onProblem: (problem: string) => void) {}

  start(delayMs: number): void {
    this.timer ??= setTimeout(() => {
      void installedRsync().then(({ version, error }) => {
        this.problem = rsyncWarning(version, error);
        if (this.problem !== null) this.onProblem(this.problem);
      });
    }, delayMs).unref();
  }
}
