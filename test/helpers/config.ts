import { DEFAULTS } from '../../src/config/defaults.js';
import type { Config, InotifyToggles, LocalPath, Remote } from '../../src/config/types.js';
import type { RsyncDaemon } from './rsyncd.js';

/** sersync's shipped `<inotify>` toggles. */
export const SERSYNC_TOGGLES: InotifyToggles = DEFAULTS.inotify;

/** The remote that reaches a test daemon's module. */
export function daemonRemote(d: RsyncDaemon): Remote {
  return { id: `127.0.0.1::${d.module}`, target: { kind: 'daemon', host: '127.0.0.1', module: d.module } };
}

/**
 * A resolved config as the loader would produce it from sersync's shipped file, pointed at a
 * test daemon (auth on, its port) or at local directories; `overrides` replace whole sections.
 */
export function testConfig(
  localpaths: readonly LocalPath[],
  opts: { daemon?: RsyncDaemon; overrides?: Partial<Config> } = {},
): Config {
  const d = opts.daemon;
  return {
    file: '/dev/null',
    host: { ip: 'localhost', port: 8008, metrics: false },
    debug: false,
    fileSystem: { xfs: false, watcher: 'auto' },
    filter: { enabled: false, excludes: [] },
    tempFiles: { builtin: true, ignoreDotFiles: false },
    inotify: SERSYNC_TOGGLES,
    localpaths,
    rsync: {
      commonParamsRaw: '-artuz',
      commonParams: ['-artuz'],
      auth: { enabled: d !== undefined, users: d?.user ?? '', passwordFile: d?.passwordFile ?? '' },
      port: d?.port ?? null,
      timeoutS: null,
      stallTimeoutS: 600,
      ssh: false,
    },
    failLog: { path: '/tmp/rsync_fail_log.sh', timeToExecuteMinutes: 60, inTrees: [] },
    crontab: { enabled: false, scheduleMinutes: 600, cron: null, filter: { enabled: false, excludes: [] } },
    plugin: { enabled: false, name: null, command: null, socket: null, refreshCDN: null, http: null },
    stateDir: null,
    verify: { enabled: false, scheduleMinutes: 1440 },
    warnings: [],
    ...opts.overrides,
  };
}
