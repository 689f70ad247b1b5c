import type { Remote, RsyncSettings } from '../config/types.js';
import { displayPath, fromUtf8, parentOf, type RelPath } from '../paths.js';
import { remoteKind } from '../config/remote-kinds.js';
import { PROC_IO } from './stall.js';
import { NANO_WINDOW } from './time-window.js';

/**
 * rsync argument vectors, one builder per kind of run. Pure: the caller spawns rsync with the
 * vector and the watch root as cwd, never through a shell. File names never appear in argv:
 * they travel NUL-separated on stdin (`--from0 --files-from=-` / `--include-from=-`), so no name
 * can be read as an option and every byte of it survives.
 */

/** Where runs to this remote go; `sub` appends a directory. */
export function destination(remote: Remote, rsync: RsyncSettings, sub: RelPath = ''): string {
  return remoteKind(remote).destination(rsync, sub);
}

/**
 * Options every run to this remote carries: `commonParams` as written, then what its kind needs
 * (`src/config/remote-kinds.ts`: transport, login, socket tuning) and the I/O timeout. `<timeout>` on is
 * passed as written; with it off, the stall backstop (`stallBackstopS`) is the worker's watch, not
 * `--timeout`, which would make every run to a default rsyncd wait ~50 ms.
 */
export function remoteOptions(remote: Remote, rsync: RsyncSettings, params = rsync.commonParams): string[] {
  const kind = remoteKind(remote);
  const ioTimeoutS = rsync.timeoutS ?? (PROC_IO ? null : backstopSetting(remote, rsync));
  return [
    ...params,
    ...kind.transport(rsync),
    ...(ioTimeoutS !== null && kind.networked ? [`--timeout=${ioTimeoutS}`] : []),
    ...kind.login(rsync),
    ...kind.tuning(rsync),
  ];
}

/**
 * Seconds without I/O after which the worker stops a run to this remote, while `<timeout>` is off
 * (`timeout/@stall`); null when `<timeout>` is on (rsync's own), the backstop is 0, the remote is
 * a local directory (no network to stall), or the kernel shows no I/O counters (`--timeout` then).
 */
export function stallBackstopS(remote: Remote, rsync: RsyncSettings): number | null {
  return PROC_IO ? backstopSetting(remote, rsync) : null;
}

function backstopSetting(remote: Remote, rsync: RsyncSettings): number | null {
  if (rsync.timeoutS !== null || rsync.stallTimeoutS <= 0 || !remoteKind(remote).networked) return null;
  return rsync.stallTimeoutS;
}

/**
 * `commonParams` without `-u`/`--update` (sersync's shipped `-artuz` has it), for event runs: the
 * watcher saw the file change, so the replica's copy is stale even when it is newer (a backup
 * restored with `cp -p`, an old file moved in, `tar x` of an older archive). Pure.
 */
export function withoutUpdate(params: readonly string[]): string[] {
  return params
    .filter((p) => p !== '--update')
    .map((p) => (/^-[A-Za-z]+$/.test(p) ? p.replace(/u/g, '') : p))
    .filter((p) => p !== '-');
}

/** True when `commonParams` asks for `-u`/`--update`. */
export function hasUpdate(params: readonly string[]): boolean {
  return withoutUpdate(params).join('\0') !== params.join('\0');
}

/** Options of a run that carries events: `remoteOptions` without `-u`. */
function eventOptions(remote: Remote, rsync: RsyncSettings): string[] {
  return remoteOptions(remote, rsync, withoutUpdate(rsync.commonParams));
}

/**
 * Sends the entries listed on stdin; a listed directory brings its own attributes, not its
 * contents. `--ignore-times`: every listed file is known to have changed, and rsync's quick check
 * would skip one rewritten at the same size within the same second (`sed -i`), leaving the
 * replica stale for good; the delta transfer keeps the cost of checking small.
 */
export function syncArgs(remote: Remote, rsync: RsyncSettings): string[] {
  return [
    ...eventOptions(remote, rsync),
    '--ignore-times',
    '-R',
    '--no-recursive',
    '--from0',
    '--files-from=-',
    './',
    destination(remote, rsync),
  ];
}

/**
 * The watched directory's own attributes (a chmod, chown or touch of the root, with `<attrib>` on).
 * rsync sends the contents of `.` whenever it is named, so every entry below it is excluded, and
 * protected on the replica even where `commonParams` has `--delete-excluded`.
 */
export function rootAttributeArgs(remote: Remote, rsync: RsyncSettings): string[] {
  return [
    ...eventOptions(remote, rsync),
    '--no-recursive',
    '--dirs',
    '--exclude=/*',
    '--filter=P /*',
    './',
    destination(remote, rsync),
  ];
}

/**
 * The idiom that removes what the source no longer has and transfers nothing; nor does it set the
 * attributes of the directories on the way (`-a`'s): a module's top directory the daemon's user cannot
 * change (made by hand as root) would fail the run for what it is not there to do.
 */
const PRUNE_ONLY = [
  '--existing',
  '--ignore-existing',
  '--no-perms',
  '--no-times',
  '--no-owner',
  '--no-group',
];

/**
 * sersync's delete form for many paths at once: an include chain on stdin (`deleteRules`) then
 * `--exclude=*`, so `--delete` can remove only the listed paths and everything else is protected.
 * `pruneOnly`: below the listed directories, only remove what the source does not have (a tree's
 * `prune`), sending nothing.
 */
export function deleteArgs(remote: Remote, rsync: RsyncSettings, pruneOnly = false): string[] {
  return [
    ...eventOptions(remote, rsync),
    '-R',
    '-r',
    '--delete',
    ...(pruneOnly ? PRUNE_ONLY : []),
    '--from0',
    '--include-from=-',
    '--exclude=*',
    './',
    destination(remote, rsync),
  ];
}

/**
 * A directory renamed within the tree: send the new directory with the old one on the replica as
 * `--link-dest` basis (named as the remote's kind takes it), so unchanged files are hard-linked
 * on the replica instead of sent. Null when a name cannot be passed in argv byte-exact (invalid
 * UTF-8): the caller then sends the directory whole. The source is `./`: rsync runs inside the
 * new directory (the task's `dir`), because `./to/` would be followed if `to` became a symlink.
 */
export function moveArgs(
  remote: Remote,
  rsync: RsyncSettings,
  to: RelPath,
  from: RelPath,
  deleteEnabled: boolean,
): string[] | null {
  if (!isArgvSafe(to) || !isArgvSafe(from)) return null;
  const basis = remoteKind(remote).linkDest(displayPath(to), displayPath(from));
  return [
    ...eventOptions(remote, rsync),
    '-r',
    ...(deleteEnabled ? ['--delete'] : []),
    `--link-dest=${basis}`,
    './',
    destination(remote, rsync, to),
  ];
}

/**
 * The whole tree (`-r`, crontab, overflow, recovery): sersync's full-sync form. stdin carries the
 * paths the realtime filter excludes (`--exclude-from=-`), so they are neither sent nor deleted;
 * the crontab filter's rsync patterns follow as `--exclude`. Modification times are compared to
 * the nanosecond (`NANO_WINDOW`; a receiver older than rsync 3.1.3 refuses it, see `time-window.ts`): rsync's
 * quick check otherwise skips a file rewritten at the same size within the second of the copy the
 * replica has, and a full sync is what repairs changes whose events were lost (a crash, an overflow).
 */
export function fullArgs(
  remote: Remote,
  rsync: RsyncSettings,
  deleteEnabled: boolean,
  crontabExcludes: readonly string[],
): string[] {
  const ownWindow = rsync.commonParams.some((p) => p.startsWith('--modify-window') || /^-[^-]*@/.test(p));
  return [
    ...remoteOptions(remote, rsync),
    '-R',
    '-r',
    ...(deleteEnabled ? ['--delete'] : []),
    ...(ownWindow ? [] : [NANO_WINDOW]),
    '--from0',
    '--exclude-from=-',
    ...crontabExcludes.map((e) => `--exclude=${e}`),
    './',
    destination(remote, rsync),
  ];
}

/**
 * A path as rsync reads it from `--files-from`, relative to the watch root. rsync skips list
 * lines starting with `#` or `;` as comments, even with `--from0`; a `./` prefix protects them.
 */
export function fileListEntry(path: RelPath): RelPath {
  return path === '' ? '.' : `./${path}`;
}

/**
 * An rsync filter pattern matching exactly `path` (anchored at the transfer root) followed by
 * `suffix`. Backslash escapes only count in patterns that hold a wildcard, so a name is escaped
 * only then.
 */
export function anchoredPattern(path: RelPath, suffix = ''): string {
  const wild = /[*?[]/.test(path) || /[*?[]/.test(suffix);
  return `/${wild ? path.replace(/[*?[\\]/g, '\\$&') : path}${suffix}`;
}

/**
 * Rules that leave these paths out of a run and keep the replica's copy of each (even with
 * `--delete-excluded` in `commonParams`), for files the replica refused (`set-aside.ts`); null
 * when a name cannot be passed in argv byte-exact (invalid UTF-8).
 */
export function setAsideRules(paths: readonly RelPath[]): string[] | null {
  if (!paths.every(isArgvSafe)) return null;
  return paths.flatMap((p) => {
    const pattern = anchoredPattern(displayPath(p));
    return [`--exclude=${pattern}`, `--filter=P ${pattern}`];
  });
}

/** The include chain that lets `deleteArgs` remove exactly these paths (and all below them). */
export function deleteRules(paths: readonly RelPath[]): string[] {
  const parents = new Set<RelPath>();
  for (const p of paths) for (let d = parentOf(p); d !== ''; d = parentOf(d)) parents.add(d);
  return [
    ...[...parents].sort().map((d) => anchoredPattern(d, '/')),
    ...paths.flatMap((p) => [anchoredPattern(p), anchoredPattern(p, '/***')]),
  ];
}

/** True when the byte-string path is valid UTF-8, so Node can pass it in argv unchanged. */
function isArgvSafe(p: RelPath): boolean {
  return fromUtf8(displayPath(p)) === p;
}
