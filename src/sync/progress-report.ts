/**
 * Where the progress of full syncs goes: a bar per remote on a terminal (progress-bars.ts), a
 * log line every few seconds otherwise. Only full syncs report; event syncs never pay for it.
 */
import type { Logger } from '../log/logger.js';
import { etaSeconds, percentChecked, type RsyncProgress } from './rsync-progress.js';

/** The full sync being reported: one tree to one remote. */
export interface ProgressSubject {
  readonly root: string;
  readonly remote: string;
}

/** One full sync's progress, from start to end. */
export interface ProgressTrack {
  update(p: RsyncProgress): void;
  end(): void;
}

export interface ProgressReporter {
  begin(subject: ProgressSubject): ProgressTrack;
}

/** The fields of a progress log line. */
export function progressFields(
  subject: ProgressSubject,
  p: RsyncProgress,
  elapsedMs: number,
): Record<string, string | number | null> {
  return {
    root: subject.root,
    remote: subject.remote,
    checked: p.checked,
    total: p.total,
    percent: percentChecked(p),
    transferred: p.transferred,
    bytes: p.bytes,
    bytesPerSec: p.bytesPerSec,
    etaS: etaSeconds(p, elapsedMs),
  };
}

/** A `full sync progress` log line every `everyMs` while a full sync runs (none for one shorter than that). */
export function logProgress(log: Logger, everyMs = 5000): ProgressReporter {
  return {
    begin(subject) {
      const started = performance.now();
      let last: RsyncProgress | null = null;
      const timer = setInterval(() => {
        if (last !== null)
          log.info(progressFields(subject, last, performance.now() - started), 'full sync progress');
      }, everyMs);
      timer.unref();
      return {
        update(p) {
          last = p;
        },
        end() {
          clearInterval(timer);
        },
      };
    },
  };
}

/** Reports to each of `reporters`. */
export function teeProgress(reporters: readonly ProgressReporter[]): ProgressReporter {
  return {
    begin(subject) {
      const tracks = reporters.map((r) => r.begin(subject));
      return {
        update(p) {
          for (const t of tracks) t.update(p);
        },
        end() {
          for (const t of tracks) t.end();
        },
      };
    },
  };
}
