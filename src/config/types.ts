/**
 * The resolved configuration: every value filled in (sersync's defaults where the file is
 * silent), paths absolute, regexes compiled, read-only. Produced once by `loadConfig` and used by
 * every stage; nothing downstream reads XML or sees `undefined` for a setting.
 *
 * Names keep sersync's element names where one exists; units sit in the names (`Minutes`, `S`).
 */

import type { RelPath } from '../paths.js';

/** Where one `<remote>` sends to. The kind follows `<rsync><ssh start>` and the `path` extension. */
export type RemoteTarget =
  /** `rsync [user@]host::module` — an rsync daemon (sersync's normal mode). */
  | { readonly kind: 'daemon'; readonly host: string; readonly module: string }
  /** `rsync -e ssh [user@]host:path` — `<ssh start="true">`; `name` is a path on the remote. */
  | { readonly kind: 'ssh'; readonly host: string; readonly path: string }
  /** Extension `<remote path="/srv/replica"/>`: rsync to a local directory (absolute). */
  | { readonly kind: 'local'; readonly path: string };

export interface Remote {
  /** Stable, human-readable identity used in logs, the retry queue and status: `127.0.0.1::tongbu1`. */
  readonly id: string;
  readonly target: RemoteTarget;
}

/** One `<localpath>`: a watched tree and the remotes it replicates to. */
export interface LocalPath {
  /** Absolute path of the watched root, trailing `/` stripped (sersync strips one). */
  readonly watch: string;
  readonly remotes: readonly Remote[];
}

/** A `<filter><exclude expression>`: sersync's whole-string regex match. */
export interface ExcludeRule {
  readonly expression: string;
  /** `^(?:expression)$`, compiled once. */
  readonly regex: RegExp;
}

/** `<inotify>`: which kinds of change trigger a sync (only the exact string `true` enables). */
export interface InotifyToggles {
  readonly delete: boolean;
  readonly createFolder: boolean;
  readonly createFile: boolean;
  readonly closeWrite: boolean;
  readonly moveFrom: boolean;
  readonly moveTo: boolean;
  readonly attrib: boolean;
  readonly modify: boolean;
}

export type WatcherBackend = 'auto' | 'inotify' | 'chokidar';

export interface RsyncSettings {
  /** `commonParams/@params` as written (for display and the fail log). */
  readonly commonParamsRaw: string;
  /** The same split into words as a shell would split them (quotes honoured, nothing expanded). */
  readonly commonParams: readonly string[];
  /** `<auth start="true">`. `users` may be empty (then no `user@` prefix). */
  readonly auth: { readonly enabled: boolean; readonly users: string; readonly passwordFile: string };
  /** `<userDefinedPort start="true" port>`, else null. */
  readonly port: number | null;
  /** `<timeout start="true" time>` in seconds, else null. */
  readonly timeoutS: number | null;
  /**
   * `timeout/@stall` **(extension)**: while `<timeout>` is off, a run with no I/O for this many
   * seconds is stopped (the worker watches it), so a remote that accepts a connection and then
   * stalls cannot hold its lane for ever; 0: none.
   */
  readonly stallTimeoutS: number;
  /** `<ssh start="true">`. */
  readonly ssh: boolean;
}

export interface FailLogSettings {
  /** `failLog/@path`, absolute. */
  readonly path: string;
  /** `failLog/@timeToExecute`: the longest retry interval, in minutes. */
  readonly timeToExecuteMinutes: number;
  /**
   * Where the fail log lies inside a watched tree: the tree and its path there (bytes as text).
   * sersync2's own file is not replicated (see `FilterSpec.own`).
   */
  readonly inTrees: readonly { readonly watch: string; readonly path: RelPath }[];
}

export interface CrontabSettings {
  readonly enabled: boolean;
  /** Full sync every N minutes since the last one (`<=0` or not a number → 600, as sersync). */
  readonly scheduleMinutes: number;
  /** Extension `cron="0 3 * * *"`: a real cron expression that replaces `schedule`. */
  readonly cron: string | null;
  /** `<crontabfilter start>`; `excludes` are rsync patterns (globs), not regexes. */
  readonly filter: { readonly enabled: boolean; readonly excludes: readonly string[] };
}

export type PluginName = 'command' | 'socket' | 'refreshCDN' | 'http';
export const PLUGIN_NAMES: readonly PluginName[] = ['command', 'socket', 'refreshCDN', 'http'];

export interface CommandPluginSettings {
  /** `param/@prefix` split into words like a shell would (the first is the program). */
  readonly prefix: readonly string[];
  readonly suffix: readonly string[];
  readonly ignoreError: boolean;
  /** `<filter start="true"><include expression>`: only matching absolute paths run. Empty = all. */
  readonly includes: readonly ExcludeRule[];
  /** Extension `param/@timeout` seconds (default 60) and `param/@concurrency` (default 4). */
  readonly timeoutS: number;
  readonly concurrency: number;
}

export interface SocketPluginSettings {
  /** `localpath/@watch` (absolute, trailing `/` stripped). */
  readonly watch: string;
  readonly host: string;
  readonly port: number;
  /** Extension `deshost/@framing="newline"`: one persistent connection, one path per line. */
  readonly framing: 'per-connection' | 'newline';
}

export interface RefreshCdnPluginSettings {
  readonly watch: string;
  readonly domainName: string;
  readonly port: number;
  readonly username: string;
  /** Secret: never logged nor printed by `check`. */
  readonly password: string;
  /** `sendurl/@base` */
  readonly baseUrl: string;
  readonly regex: boolean;
  readonly match: string;
  /** Extension: `chinacache` (sersync's wire format, default) or a generic purge request. */
  readonly mode: 'chinacache' | 'generic';
  /** Generic mode: HTTP method (default `PURGE`) and URL template with `{url}` (default `{url}`). */
  readonly method: string;
  readonly urlTemplate: string;
}

export interface HttpPluginSettings {
  readonly watch: string;
  /** `deshost/@url` (full URL; `deshost/@port` overrides its port when set). */
  readonly url: string;
  /** Extension `deshost/@format`: `form` (sersync's source: `watchroot=…&isdir=…&inotifyPath=…&mask=…`) or `json`. */
  readonly format: 'form' | 'json';
  readonly timeoutS: number;
}

export interface PluginSettings {
  /** `<sersync><plugin start="true" name>`: run this plugin after each event's syncs. */
  readonly enabled: boolean;
  readonly name: PluginName | null;
  /** The top-level `<plugin name="…">` sections; null when the file has none. */
  readonly command: CommandPluginSettings | null;
  readonly socket: SocketPluginSettings | null;
  readonly refreshCDN: RefreshCdnPluginSettings | null;
  readonly http: HttpPluginSettings | null;
}

/** Extensions to the temp-file and dot-file rules (`<filter builtinTemp="true" ignoreDotFiles="false">`). */
export interface TempFileSettings {
  /** Drop the built-in temporary-file names (vim 4913, `*~`, swap files, emacs, rsync temps). Default true. */
  readonly builtin: boolean;
  /** sersync's rule: never replicate (nor delete) files whose name starts with `.`. Default false. */
  readonly ignoreDotFiles: boolean;
}

export interface ConfigWarning {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface Config {
  /** Absolute path of the file this came from. */
  readonly file: string;
  /** `<host hostip port>`; extension `metrics="true"` serves /metrics and /status there. */
  readonly host: { readonly ip: string; readonly port: number; readonly metrics: boolean };
  readonly debug: boolean;
  /** `<fileSystem xfs>`; extension `watcher="auto|inotify|chokidar"`. */
  readonly fileSystem: { readonly xfs: boolean; readonly watcher: WatcherBackend };
  /** `<filter start>` and its `<exclude>` regexes. */
  readonly filter: { readonly enabled: boolean; readonly excludes: readonly ExcludeRule[] };
  readonly tempFiles: TempFileSettings;
  readonly inotify: InotifyToggles;
  /** Every `<localpath>` (sersync used only the first). */
  readonly localpaths: readonly LocalPath[];
  readonly rsync: RsyncSettings;
  readonly failLog: FailLogSettings;
  readonly crontab: CrontabSettings;
  readonly plugin: PluginSettings;
  /** Extension `<state dir>`: where the retry queue lives; null = the default location. */
  readonly stateDir: string | null;
  /** Extension `<verify start schedule>`: the daemon verifies every replica every `scheduleMinutes`. */
  readonly verify: { readonly enabled: boolean; readonly scheduleMinutes: number };
  /** Non-fatal findings (unknown elements/attributes, ignored values), with their place in the file. */
  readonly warnings: readonly ConfigWarning[];
}
