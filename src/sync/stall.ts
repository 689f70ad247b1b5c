import { existsSync, readFileSync } from 'node:fs';

/**
 * The stall backstop, kept out of rsync's protocol: rsync's own `--timeout` changes how a daemon
 * answers (each run waits ~50 ms on a default rsyncd's Nagle), so the worker watches the run
 * instead and stops one that makes no I/O for `timeout/@stall` seconds.
 */

/** Whether this kernel shows a process's I/O counters; without them rsync's `--timeout` stands in. */
export const PROC_IO = existsSync('/proc/self/io');

/** Bytes a process has read and written so far (any fd: files, pipes, sockets); null once it is gone. */
export function ioBytes(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const count = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return count('rchar') + count('wchar');
  } catch {
    return null;
  }
}

/**
 * Decides when a run has stalled, from samples of its progress (any number that grows while it
 * works: I/O bytes plus output). Pure: the caller samples and keeps time.
 */
export class StallClock {
  private last: number | null = null;
  private since: number;

  constructor(
    private readonly stallMs: number,
    now: number,
  ) {
    this.since = now;
  }

  /** True when `progress` has not moved for `stallMs` up to `now`. */
  stalled(progress: number, now: number): boolean {
    if (progress !== this.last) {
      this.last = progress;
      this.since = now;
    }
    return now - this.since >= this.stallMs;
  }
}

/** How often a run is sampled: often enough that a stall is noticed within a quarter of the limit. */
export function sampleEveryMs(stallS: number): number {
  return Math.max(50, Math.min(1000, (stallS * 1000) / 4));
}
