/**
 * Early warning before the inotify watch limit bites: the limit is per user and shared with every
 * other program of that user (editors, IDEs, other sersync2 instances), and a tree that grows
 * past it stops being watched. sersync2 wrote 50,000,000 into /proc/sys at every start; we only
 * say what to run.
 */
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import { currentWatchLimit } from '../watch/watch-limit.js';

/** Above this share of the limit, start-up and reload warn. */
export const WATCH_WARNING_RATIO = 0.8;

/**
 * inotify watches held by processes of `uid`, counted from /proc/<pid>/fdinfo (one
 * `inotify wd:` line per watch). Processes we may not look into are skipped.
 */
export function inotifyWatchesOfUser(uid: number, proc = '/proc'): number {
  let total = 0;
  // Paths by concatenation: on a busy server this visits tens of thousands of fds, and path.join
  // would normalise each one.
  for (const pid of readdirSync(proc).filter((name) => /^\d+$/.test(name))) {
    try {
      const dir = `${proc}/${pid}`;
      if (statSync(dir).uid !== uid) continue;
      for (const fd of readdirSync(`${dir}/fd`)) {
        if (readlinkSync(`${dir}/fd/${fd}`) !== 'anon_inode:inotify') continue;
        const info = readFileSync(`${dir}/fdinfo/${fd}`, 'utf8');
        total += info.split('\n').filter((line) => line.startsWith('inotify wd:')).length;
      }
    } catch {
      // the process ended meanwhile, or is not ours to look at
    }
  }
  return total;
}

export interface WatchUsage {
  /** Watches our trees hold. */
  readonly ours: number;
  /** Watches this user holds in all (ours included), or null when not known. */
  readonly userTotal: number | null;
  /** `fs.inotify.max_user_watches` (or the lower per-namespace limit); 0 when unknown. */
  readonly limit: number;
}

/** The warning to log when the user's watches are near the limit, or null. */
export function watchLimitWarning(u: WatchUsage): string | null {
  const used = Math.max(u.userTotal ?? 0, u.ours);
  if (u.limit <= 0 || used <= u.limit * WATCH_WARNING_RATIO) return null;
  const share = Math.round((used / u.limit) * 100);
  const others =
    u.userTotal === null ? '' : ` (${u.ours} for these trees, ${used - u.ours} by other programs)`;
  return (
    `inotify watches: this user holds ${used} of fs.inotify.max_user_watches=${u.limit} (${share} %)${others}; ` +
    `a growing tree will stop being watched. Raise the limit: sysctl -w fs.inotify.max_user_watches=` +
    `${Math.max(u.limit * 2, used * 2)} (persist it in /etc/sysctl.d/90-sersync.conf)`
  );
}

/** After the watches are set: logs how many are used, and warns when near the limit. */
export function checkWatchHeadroom(ours: number, log: Logger, limit = currentWatchLimit()): void {
  let userTotal: number | null;
  try {
    userTotal = inotifyWatchesOfUser(process.getuid?.() ?? 0);
  } catch {
    userTotal = null;
  }
  const warning = watchLimitWarning({ ours, userTotal, limit });
  if (warning !== null) log.warn({ ours, userTotal, limit }, warning);
  else log.debug({ ours, userTotal, limit }, 'inotify watches within the limit');
}
