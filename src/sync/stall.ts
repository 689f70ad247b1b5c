import { existsSync, readdirSync, readFileSync } from 'node:fs';

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
 * Bytes a process and every process below it have read and written so far: a run over ssh is a
 * supervisor whose children (rsync, ssh) do the I/O. Null once the process is gone. A child that
 * ends takes its bytes out of the sum, which reads as movement, as its ending is.
 */
export function treeIoBytes(pid: number): number | null {
  const own = ioBytes(pid);
  if (own === null) return null;
  return childrenOf(pid).reduce((sum, child) => sum + (treeIoBytes(child) ?? 0), own);
}

function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const tid of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch (err) {
      // a kernel built without CONFIG_PROC_CHILDREN
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return childrenByParent(pid);
      continue;
    }
    for (const word of text.split(' ')) if (word !== '') children.push(Number(word));
  }
  return children;
}

/** The processes whose parent is `pid`, from every process's stat (field 4, after the name). */
function childrenByParent(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
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
