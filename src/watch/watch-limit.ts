import { readFileSync } from 'node:fs';
import { WatchLimitError } from '../errors.js';

/**
 * The inotify watch limit in force for this process: the global `fs.inotify.max_user_watches`, or
 * a lower per-user-namespace limit (/proc/sys/user/max_inotify_watches, e.g. in a container).
 */
export function currentWatchLimit(
  files: readonly string[] = ['/proc/sys/fs/inotify/max_user_watches', '/proc/sys/user/max_inotify_watches'],
): number {
  const limits = files.map(readNumber).filter((n): n is number => n !== undefined);
  return limits.length > 0 ? Math.min(...limits) : 0;
}

/** The kernel refused a watch with ENOSPC: say what the limit is and how many this tree needs. */
export function watchLimitError(needed: number, root: string, limit = currentWatchLimit()): WatchLimitError {
  return new WatchLimitError(limit, needed, root);
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}
