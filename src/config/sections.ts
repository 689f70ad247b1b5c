/** The small top-level sections of `<head>`: host, debug, fileSystem, filter, inotify, state. */
import { DEFAULTS } from './defaults.js';
import { PORT, type ConfigReader } from './reader.js';
import type { Config, ExcludeRule, InotifyToggles, TempFileSettings, WatcherBackend } from './types.js';
import type { XmlElement } from './xml.js';

const WATCHERS: readonly WatcherBackend[] = ['auto', 'inotify', 'chokidar'];

export function readHost(r: ConfigReader, head: XmlElement): Config['host'] {
  const host = head.child('host');
  return {
    ip: r.text(host, 'hostip', DEFAULTS.host.ip),
    port: r.integer(host, 'port', DEFAULTS.host.port, PORT),
    metrics: r.toggle(host, 'metrics', false),
  };
}

export function readDebug(r: ConfigReader, head: XmlElement): boolean {
  return r.toggle(head.child('debug'), 'start', false);
}

export function readFileSystem(r: ConfigReader, head: XmlElement): Config['fileSystem'] {
  const fs = head.child('fileSystem');
  return { xfs: r.toggle(fs, 'xfs', false), watcher: r.choice(fs, 'watcher', WATCHERS, 'auto') };
}

export interface FilterSection {
  readonly filter: Config['filter'];
  readonly tempFiles: TempFileSettings;
}

export function readFilter(r: ConfigReader, head: XmlElement): FilterSection {
  const el = head.child('filter');
  const enabled = r.toggle(el, 'start', false);
  const excludes: ExcludeRule[] = [];
  for (const ex of el?.children('exclude') ?? []) {
    const rule = r.lenient<ExcludeRule | null>(
      enabled,
      () => r.wholeMatch(r.required(ex, 'expression')),
      null,
    );
    if (rule !== null) excludes.push(rule);
  }
  return {
    filter: { enabled, excludes },
    tempFiles: {
      builtin: r.toggle(el, 'builtinTemp', true),
      ignoreDotFiles: r.toggle(el, 'ignoreDotFiles', false),
    },
  };
}

export function readInotify(r: ConfigReader, head: XmlElement): InotifyToggles {
  const el = head.child('inotify');
  const on = (name: keyof InotifyToggles): boolean =>
    r.toggle(el?.child(name), 'start', DEFAULTS.inotify[name]);
  return {
    delete: on('delete'),
    createFolder: on('createFolder'),
    createFile: on('createFile'),
    closeWrite: on('closeWrite'),
    moveFrom: on('moveFrom'),
    moveTo: on('moveTo'),
    attrib: on('attrib'),
    modify: on('modify'),
  };
}

/** Extension `<verify start="true" schedule="MINUTES"/>`: periodic `sersync2 verify` in the daemon (off by default; daily). */
export function readVerify(r: ConfigReader, head: XmlElement): Config['verify'] {
  const el = head.child('verify');
  return {
    enabled: r.toggle(el, 'start', false),
    scheduleMinutes: r.integer(el, 'schedule', 1440, { min: 1, max: 525_600 }),
  };
}

/** Extension `<state dir="…"/>`: where the retry queue lives (null: the default location). */
export function readStateDir(r: ConfigReader, head: XmlElement): string | null {
  const el = head.child('state');
  if (el === undefined) return null;
  return r.resolvePath(r.required(el, 'dir').value);
}
