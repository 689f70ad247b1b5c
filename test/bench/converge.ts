import { lstatSync, readdirSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { treeDiff } from '../helpers/trees.js';
import type { Lab } from './lab.js';

/** The daemon idle this long means a replicator has finished what it was doing. */
const QUIET_MS = 200;
/** While the daemon stays busy (a replicator that keeps re-running rsync), look this often anyway. */
const BUSY_CHECK_MS = 500;

/** Epoch milliseconds with sub-millisecond precision, comparable with file times. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * When the replica became equal to `src` (epoch ms), or null if it did not within `timeoutMs`.
 * Judged by content (`diff -r`), looked at only when the daemon has gone quiet; the answer is the
 * last time the daemon logged work, i.e. the end of the rsync run that completed the replica.
 * (For a replicator that keeps the daemon busy after converging, a later run: an upper bound.)
 */
export async function awaitConvergence(lab: Lab, src: string, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  let checkedWrite = Number.NaN;
  let lastCheck = 0;
  for (;;) {
    const wrote = lab.log.lastWriteAt();
    const now = Date.now();
    if (wrote !== checkedWrite && (now - wrote >= QUIET_MS || now - lastCheck >= BUSY_CHECK_MS)) {
      checkedWrite = wrote;
      lastCheck = now;
      if (sameShape(src, lab.daemon.dir) && treeDiff(src, lab.daemon.dir) === '') return wrote;
    }
    if (now > deadline) return null;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Names, types, and file sizes and mtimes (whole seconds) below `root`, one line each. */
function shape(root: string): Set<string> {
  const out = new Set<string>();
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        out.add(`d ${path}`);
        walk(path);
      } else {
        const st = lstatSync(join(root, path));
        out.add(`${e.isFile() ? 'f' : 'o'} ${path} ${st.size} ${Math.floor(st.mtimeMs / 1000)}`);
      }
    }
  };
  walk('');
  return out;
}

/**
 * A cheap look before `diff -r`, which reads every byte: while a transfer is under way the names
 * or sizes differ (or a temporary file vanishes as we look). Every contender preserves mtimes.
 */
function sameShape(a: string, b: string): boolean {
  try {
    const sa = shape(a);
    const sb = shape(b);
    return sa.size === sb.size && [...sa].every((x) => sb.has(x));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Resolves with `performance.now()` at the moment `dir/name` holds exactly `content` (the rsync
 * daemon renames a complete file into place), or null after `timeoutMs`. Call it before the
 * write: the watch must be in place first.
 */
export function arrival(
  dir: string,
  name: string,
  content: Buffer,
  timeoutMs: number,
): Promise<number | null> {
  const complete = (): boolean => {
    try {
      return readFileSync(join(dir, name)).equals(content);
    } catch {
      return false;
    }
  };
  return new Promise((resolve) => {
    const done = (at: number | null): void => {
      clearTimeout(timer);
      watcher.close();
      resolve(at);
    };
    const watcher = watch(dir, (_event, file) => {
      if (file === name && complete()) done(performance.now());
    });
    const timer = setTimeout(() => {
      done(complete() ? performance.now() : null);
    }, timeoutMs);
  });
}
