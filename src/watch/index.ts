import type { WatcherBackend } from '../config/types.js';
import { SersyncError } from '../errors.js';
import { ChokidarWatcher } from './chokidar-watcher.js';
import { InotifyWatcher } from './inotify-watcher.js';
import { loadInotifyBinding, type BindingLoad } from './native.js';
import type { Watcher, WatcherOptions } from './types.js';

export type {
  Watcher,
  WatcherOptions,
  WatchEvent,
  WatchEventType,
  WatchGap,
  WatchHealth,
  WatchStats,
} from './types.js';
export { loadInotifyBinding } from './native.js';

/**
 * A watcher for one tree. `auto` is the kernel-exact inotify watcher when the native binding loads
 * (Linux, built by `npm install`), else chokidar; `stats.backend` from `start()` says which.
 * Asking for `inotify` where it cannot run is an error, not a silent fallback.
 */
export function createWatcher(backend: WatcherBackend, opts: WatcherOptions): Watcher {
  if (backend === 'chokidar') return new ChokidarWatcher(opts);
  const load = loadInotifyBinding();
  if (load.ok) return new InotifyWatcher(load.binding, opts);
  if (backend === 'auto') return new ChokidarWatcher(opts);
  throw new SersyncError('ERR_SERSYNC_WATCHER', `watcher="inotify" cannot be used: ${load.reason}`);
}

/** What the chokidar watcher cannot guarantee (see chokidar-watcher.ts), said wherever it runs. */
export const CHOKIDAR_CANNOT =
  'renames are not paired (a renamed directory is sent again), files written into a new directory at once ' +
  'can be missed for good, lost events (a queue overflow) go unnoticed, and it holds one inotify watch per file';

/**
 * Which watcher `backend` runs here, and what the operator must be told about it: the chokidar
 * fallback (the native binding not built) is never silent.
 */
export function describeWatcher(
  backend: WatcherBackend,
  load: BindingLoad = loadInotifyBinding(),
): { readonly runs: 'inotify' | 'chokidar' | null; readonly warning: string | null } {
  if (backend === 'chokidar')
    return {
      runs: 'chokidar',
      warning: `watcher="chokidar" is set: chokidar cannot guarantee what inotify does: ${CHOKIDAR_CANNOT}`,
    };
  if (load.ok) return { runs: 'inotify', warning: null };
  if (backend === 'inotify')
    return { runs: null, warning: `watcher="inotify" cannot be used: ${load.reason}` };
  return {
    runs: 'chokidar',
    warning:
      `the native inotify binding is not available, so the chokidar fallback watches: ${load.reason}. ` +
      `chokidar cannot guarantee what inotify does: ${CHOKIDAR_CANNOT}. ` +
      'Build the binding (a C compiler, make and python3, then `npm rebuild` where sersync2 is installed) and restart.',
  };
}

/**
 * For tests: makes a started watcher report an `overflow` as if the kernel had dropped events (for
 * the inotify watcher, a raw IN_Q_OVERFLOW goes through the whole read path).
 */
export function simulateOverflow(watcher: Watcher): void {
  if (!(watcher instanceof InotifyWatcher || watcher instanceof ChokidarWatcher)) {
    throw new TypeError('simulateOverflow: not a watcher made by createWatcher');
  }
  watcher.injectOverflow();
}

/** For tests: makes a started inotify watcher's read fail, as the binding reports a failed read(2). */
export function simulateReadError(watcher: Watcher, err: Error): void {
  if (!(watcher instanceof InotifyWatcher)) throw new TypeError('simulateReadError: not an inotify watcher');
  watcher.injectReadError(err);
}
