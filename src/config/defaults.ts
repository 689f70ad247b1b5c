/**
 * What a missing element or attribute means: the values of sersync 2.5.4's shipped confxml.xml
 * (the file every installation started from), plus the defaults of sersync-ts's extensions.
 */
import type { InotifyToggles } from './types.js';

export const DEFAULTS = {
  host: { ip: 'localhost', port: 8008 },
  inotify: {
    delete: true,
    createFolder: true,
    createFile: false,
    closeWrite: true,
    moveFrom: true,
    moveTo: true,
    attrib: false,
    modify: false,
  } satisfies InotifyToggles,
  commonParams: '-artuz',
  auth: { users: 'root', passwordFile: '/etc/rsync.pas' },
  port: 874,
  timeoutS: 100,
  /** An I/O timeout, not a run time limit: a healthy transfer moves data (or keep-alives) far more often. */
  stallTimeoutS: 600,
  failLog: { path: '/tmp/rsync_fail_log.sh', timeToExecuteMinutes: 60, inTrees: [] },
  /** sersync's compiled-in interval when `timeToExecute=""`: 7200 s. */
  failLogEmptyMinutes: 120,
  crontabScheduleMinutes: 600,
  pluginName: 'command',
  command: { prefix: '/bin/sh', suffix: '', ignoreError: true, timeoutS: 60, concurrency: 4 },
  socketPort: 8009,
  cdnPort: 80,
  cdnMethod: 'PURGE',
  cdnUrlTemplate: '{url}',
  httpTimeoutS: 10,
} as const;
