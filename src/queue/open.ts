import { existsSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { DaemonHiddenError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { FAIL_LOG_MIN_ATTEMPTS } from './retry-policy.js';
import { failLogMirror, type FailLogTrouble } from './fail-log-mirror.js';
import { deniedSystemDir, resolveStateDir, queueFileFor } from './state-dir.js';
import { openWorkStore } from './store.js';
import type { QueueStore } from './types.js';

export interface OpenQueueOptions {
  /** `--state-dir`, or null. */
  readonly stateDirFlag: string | null;
  readonly log: Logger;
  /**
   * Keep `<failLog path>` in step with the queue (default true). Read-only users (`queue list`)
   * pass false so that looking never writes.
   */
  readonly mirrorFailLog?: boolean;
  /** Only reads follow (see WorkStoreOptions.readOnly). */
  readonly readOnly?: boolean;
  /**
   * The CLI looks at a daemon's queue: when the state directory was not named and the system one
   * is closed to this user, a queue missing from the fallback is an error (the daemon's may be
   * behind that door), never a new empty one that says "nothing queued".
   */
  readonly daemonsQueue?: boolean;
  /** See WorkStoreOptions.busyTimeoutMs. */
  readonly busyTimeoutMs?: number;
  readonly now?: () => number;
}

export interface OpenedQueue {
  readonly store: QueueStore;
  /** The database file. */
  readonly file: string;
  /** While the fail log is not written (null without a mirror). */
  readonly failLogTrouble: () => FailLogTrouble | null;
}

/**
 * The retry queue of this config, as the daemon and the CLI open it: the state directory
 * resolved, one database per config file, back-off capped at `failLog timeToExecute`, and the
 * sersync fail log rewritten from the queue now and on every change.
 */
export function openQueueForConfig(config: Config, opts: OpenQueueOptions): OpenedQueue {
  const file = queueFileFor(resolveStateDir(opts.stateDirFlag, config.stateDir), config.file);
  if (opts.daemonsQueue === true && opts.stateDirFlag === null && config.stateDir === null)
    refuseHidden(file);
  const now = opts.now ?? Date.now;
  const storeOptions = {
    now,
    maxIntervalMinutes: config.failLog.timeToExecuteMinutes,
    readOnly: opts.readOnly === true,
    busyTimeoutMs: opts.busyTimeoutMs,
  };
  if (opts.mirrorFailLog === false)
    return { file, store: openWorkStore(file, storeOptions), failLogTrouble: () => null };
  let opened: QueueStore | null = null;
  const mirror = failLogMirror(
    config,
    () => {
      if (opened === null) throw new Error('fail-log mirror used before the store was opened');
      return opened;
    },
    opts.log,
    now,
  );
  const store = openWorkStore(file, { ...storeOptions, onFailLogRowsChange: mirror.update });
  opened = store;
  mirror.update(store.failedAtLeast(FAIL_LOG_MIN_ATTEMPTS));
  return { file, store, failLogTrouble: mirror.trouble };
}

/** Throws when `file` does not exist and the system state directory is closed to this user. */
function refuseHidden(file: string): void {
  const denied = deniedSystemDir();
  if (denied === null || existsSync(file)) return;
  throw new DaemonHiddenError(
    'retry queue',
    `it has none at ${file}, and ${denied} is closed to it (permission denied), where a sersync2 running as root keeps its queue`,
  );
}
