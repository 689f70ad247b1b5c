/**
 * Progress of a full sync, read from rsync's `--info=progress2` output (one overall line,
 * rewritten with `\r`). Pure: the worker feeds it rsync's stdout and posts the snapshots.
 */
import type { MessagePort } from 'node:worker_threads';
import type { RsyncTask } from './task.js';

/**
 * A task as the pool hands it to the worker: with a port when its progress is wanted (full
 * syncs), and one for the paths its walks listed, posted before rsync starts (`RsyncPool.run`).
 */
export type ReportingTask = RsyncTask & {
  readonly progressPort?: MessagePort;
  readonly listedPort?: MessagePort;
};

/**
 * What the worker posts on that port. `final` marks the last one: the pool waits for it rather
 * than for the port's close, which a worker parked by piscina between tasks may never deliver.
 */
export interface ProgressMessage {
  readonly progress: RsyncProgress;
  readonly final: boolean;
}

/** Where a full sync stands; what the worker posts to the main thread. */
export interface RsyncProgress {
  /** Entries (files and directories, as rsync counts them) compared with the replica so far. */
  readonly checked: number;
  /** Entries in the transfer: the walked tree until rsync's own list is complete, then rsync's count. */
  readonly total: number;
  /** Files rsync sent so far (`xfr#`). */
  readonly transferred: number;
  /** Bytes of file data sent so far, and rsync's current rate. */
  readonly bytes: number;
  readonly bytesPerSec: number;
}

/** One `--info=progress2` line: `  1,234,567  12%  1.23MB/s  0:00:10 (xfr#12, ir-chk=100/200)`. */
export interface Progress2Line {
  readonly bytes: number;
  readonly bytesPerSec: number;
  /** Null on the lines rsync prints before its first file. */
  readonly counts: {
    readonly transferred: number;
    readonly toCheck: number;
    readonly listed: number;
    /** `to-chk` (the whole list is known) rather than `ir-chk` (incremental recursion: more to come). */
    readonly listComplete: boolean;
  } | null;
}

const LINE =
  /^\s*([\d.,]+)([KMGTP]?)\s+\d+%\s+([\d.,]+)([kKMGTP]?)B\/s\s+[\d:]+(?:\s+\(xfr#(\d+), (to|ir)-chk=(\d+)\/(\d+)\))?/;
const UNIT = ['', 'K', 'M', 'G', 'T', 'P'];

/** A byte count: 1,234,567 (1.234.567 in some locales), or with `-h` 11.50M (powers of 1000). */
function amount(digits: string, unit: string): number {
  if (unit === '') return Number(digits.replace(/\D/g, ''));
  return scaled(digits, unit, 1000);
}

/** `1.23` with unit `M`. */
function scaled(decimal: string, unit: string, base: number): number {
  return Math.round(Number(decimal.replace(/,/g, '')) * base ** UNIT.indexOf(unit.toUpperCase()));
}

/** Parses one progress2 line; null for anything else rsync prints (names with `-v`, `--stats`). */
export function parseProgress2(line: string): Progress2Line | null {
  const m = LINE.exec(line);
  if (m === null) return null;
  const [, bytes = '', bytesUnit = '', rate = '', rateUnit = '', xfr, kind, toCheck, listed] = m;
  return {
    bytes: amount(bytes, bytesUnit),
    bytesPerSec: scaled(rate, rateUnit, 1024), // rates are printed from kB/s up, in powers of 1024
    counts:
      xfr === undefined || toCheck === undefined || listed === undefined
        ? null
        : {
            transferred: Number(xfr),
            toCheck: Number(toCheck),
            listed: Number(listed),
            listComplete: kind === 'to',
          },
  };
}

/**
 * Follows rsync's stdout: splits it into `\r`/`\n` lines, keeps the latest counts, and says how
 * far the sync is against `walked`, the entries the worker's tree walk found (rsync's own total
 * grows while it lists the tree incrementally).
 */
export class Progress2Reader {
  private partial = '';
  private bytes = 0;
  private bytesPerSec = 0;
  private counts: Progress2Line['counts'] = null;

  constructor(private readonly walked: number) {}

  /** Takes a chunk of stdout; true when it moved the progress. */
  feed(chunk: string): boolean {
    const lines = (this.partial + chunk).split(/[\r\n]/);
    this.partial = lines.pop() ?? '';
    let moved = false;
    for (const line of lines) {
      const p = parseProgress2(line);
      if (p === null) continue;
      this.bytes = p.bytes;
      this.bytesPerSec = p.bytesPerSec;
      if (p.counts !== null) this.counts = p.counts;
      moved = true;
    }
    return moved;
  }

  snapshot(): RsyncProgress {
    const c = this.counts;
    return {
      checked: c === null ? 0 : c.listed - c.toCheck,
      total: c === null ? this.walked : c.listComplete ? c.listed : Math.max(c.listed, this.walked),
      transferred: c?.transferred ?? 0,
      bytes: this.bytes,
      bytesPerSec: this.bytesPerSec,
    };
  }
}

/** Seconds left at the pace so far (null before there is a pace). */
export function etaSeconds(p: RsyncProgress, elapsedMs: number): number | null {
  if (p.checked <= 0 || elapsedMs <= 0) return null;
  return Math.round(((p.total - p.checked) * elapsedMs) / p.checked / 1000);
}

/** Whole percent of the entries checked. */
export function percentChecked(p: RsyncProgress): number {
  return p.total <= 0 ? 0 : Math.min(100, Math.floor((p.checked * 100) / p.total));
}

/** `1.5 MiB`: bytes for people. */
export function formatBytes(n: number): string {
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNIT.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${UNIT[i] ?? ''}iB`;
}
