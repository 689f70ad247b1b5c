/**
 * The installed rsync, as far as the tree's boundary depends on it: rsync ≥ 3.5 refuses to follow
 * a link planted in the middle of a listed path (another user's), older ones follow it if it is
 * planted between our listing and their read. `check` and every start say so.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isExhaustion, whyNotStarted } from '../process-start.js';
import { describeConfinement, probeConfinement, type Confinement } from './confine.js';

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

/**
 * What an operator must know about this rsync; null when nothing. Before 3.5 it follows a link
 * planted mid-path, which confinement (`confine.ts`) stops on every run, where the kernel allows it.
 */
export function rsyncWarning(
  version: RsyncVersion | null,
  error: string | null,
  confinement: Confinement,
): string | null {
  if (version === null)
    return `cannot run rsync (${error ?? 'no version in its output'}): every sync will fail until it is installed`;
  if (version.major > 3 || (version.major === 3 && version.minor >= 5)) return null;
  const follows = `rsync ${version.text} follows a symlink planted in the middle of a listed path between the listing and its read`;
  const advice = 'where users other than root write the watched tree, install rsync 3.5 or later';
  if ('unavailable' in confinement)
    return `${follows}, and its reads cannot be confined to the tree: ${confinement.unavailable}; ${advice}`;
  return null;
}

/** The installed rsync and whether its reads can be confined: what `rsyncWarning` weighs. */
export interface RsyncLook {
  readonly version: RsyncVersion | null;
  readonly error: string | null;
  readonly confinement: Confinement;
}

/**
 * Looks at both (two processes). Throws when they could not be started for want of descriptors
 * or processes (see `isExhaustion`): that says nothing of rsync, so it must not read as "missing".
 */
export async function lookAtRsync(): Promise<RsyncLook> {
  const [installed, confinement] = await Promise.all([installedRsync(), probeConfinement()]);
  return { ...installed, confinement };
}

/** The installed rsync as status shows it. */
export interface RsyncReport {
  /** As `rsync --version` says it; null when it cannot run. */
  readonly version: string | null;
  /** Every run reads only its tree and the system's files (`confine.ts`). */
  readonly confined: boolean;
  /** `check`'s words for it: how, or why not. */
  readonly confinement: string;
  /** Why no run is confined (no Landlock, no helper); null when runs can be. */
  readonly unavailable: string | null;
  /** What is wrong (see `rsyncWarning`); null when nothing. */
  readonly problem: string | null;
}

export function rsyncReport(look: RsyncLook): RsyncReport {
  return {
    version: look.version?.text ?? null,
    confined: !('unavailable' in look.confinement),
    confinement: describeConfinement(look.confinement),
    unavailable: 'unavailable' in look.confinement ? look.confinement.unavailable : null,
    problem: rsyncWarning(look.version, look.error, look.confinement),
  };
}

/** Runs `rsync --version`: the version, or why there is none (throws on exhaustion, see `lookAtRsync`). */
export async function installedRsync(): Promise<{ version: RsyncVersion | null; error: string | null }> {
  try {
    const { stdout } = await promisify(execFile)('rsync', ['--version'], { timeout: 10_000 });
    return { version: parseRsyncVersion(stdout), error: null };
  } catch (err) {
    if (isExhaustion(err)) throw err;
    return { version: null, error: whyNotStarted(err, 'rsync') };
  }
}

/**
 * The installed rsync looked at once, a while after the start: the look spawns rsync, a fork of this
 * process that would delay the first changes (the bench saw +10 ms on the first). Its problem is
 * logged, and kept for status and /metrics.
 */
export class LaterRsyncCheck {
  private report: RsyncReport | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly onProblem: (problem: string) => void,
    /** The look could not be made (out of descriptors or processes): it is made again later. */
    private readonly onPostponed: (why: string) => void,
  ) {}

  /** Looks after `delayMs`, then logs the problem. */
  start(delayMs: number): void {
    this.timer ??= setTimeout(() => {
      lookAtRsync().then(
        (look) => {
          this.report = rsyncReport(look);
          if (this.report.problem !== null) this.onProblem(this.report.problem);
        },
        (err: unknown) => {
          this.timer = null;
          this.onPostponed(whyNotStarted(err, 'rsync'));
          this.start(delayMs);
        },
      );
    }, delayMs).unref();
  }

  /** What status shows; null until looked at. */
  reported(): RsyncReport | null {
    return this.report;
  }
}
