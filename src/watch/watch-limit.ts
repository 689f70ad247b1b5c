import { readdirSync, readFileSync } from 'node:fs';
import { SersyncError, WatchLimitError } from '../errors.js';
import { whyNotStarted } from '../process-start.js';

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

/**
 * The kernel refused an inotify instance (EMFILE from inotify_init1). That is this process out of
 * descriptors, or, when it has some to spare, the user's `fs.inotify.max_user_instances` reached
 * (128 by default, shared with every program of the user: IDEs, container runtimes, each tree of
 * each sersync2): "too many open files" alone sends the operator to raise the wrong limit.
 */
export function instancesError(root: string, err: unknown, spare = hasSpareDescriptors()): SersyncError {
  if (!spare)
    return new SersyncError('ERR_SERSYNC_WATCH', `cannot watch ${root}: ${whyNotStarted(err, 'inotify')}`);
  const limit = Math.min(
    ...['/proc/sys/fs/inotify/max_user_instances', '/proc/sys/user/max_inotify_instances']
      .map(readNumber)
      .filter((n): n is number => n !== undefined),
  );
  const known = Number.isFinite(limit);
  return new SersyncError(
    'ERR_SERSYNC_WATCH',
    `cannot watch ${root}: this user has as many inotify instances as fs.inotify.max_user_instances allows` +
      `${known ? ` (${limit})` : ''}, shared with every other program of the user (each watched tree takes one). ` +
      `Raise it: sysctl -w fs.inotify.max_user_instances=${known ? Math.max(limit * 2, 256) : 1024} ` +
      `(persist it in /etc/sysctl.d/90-sersync.conf)`,
    { cause: err },
  );
}

/** Whether this process could open another descriptor (below its soft RLIMIT_NOFILE); false when unsure. */
function hasSpareDescriptors(): boolean {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return soft !== undefined && readdirSync('/proc/self/fd').length < Number(soft);
  } catch {
    return false; // out of descriptors to look with
  }
}
