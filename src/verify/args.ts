/**
 * The dry runs of `sersync2 verify`, built from the engine's own runs (plan.ts, rsync-args.ts) so
 * that they carry the same options, filters and names on stdin as a full sync. Pure.
 */
import type { Config, Remote } from '../config/types.js';
import { filterSpecOf } from '../filter/path-filter.js';
import type { RelPath } from '../paths.js';
import { planRuns } from '../sync/plan.js';
import { deleteArgs, deleteRules } from '../sync/rsync-args.js';
import type { RsyncTask } from '../sync/task.js';

/**
 * Lists what would change, changes nothing. `%n` alone: `%L` (` -> target`) would blur names.
 * Directory times are not compared (`--omit-dir-times`): adding or removing an entry changes its
 * directory's time, and event syncs send the entry, not its parent (sersync's did the same), so
 * every replica directory would show as different.
 */
function dryRunOptions(checksum: boolean): string[] {
  return [
    '--dry-run',
    '--itemize-changes',
    '--out-format=%i %n',
    '--omit-dir-times',
    ...(checksum ? ['--checksum'] : []),
  ];
}

/**
 * `-u` (in sersync's default `-artuz`) skips replica files newer than the tree's: a verify must
 * still see them. Removed from `--update` and from short-option clusters such as `-artuz`.
 */
export function withoutUpdate(args: readonly string[]): string[] {
  return args.flatMap((a) => {
    if (a === '--update') return [];
    if (!/^-[a-zA-Z]+$/.test(a) || !a.includes('u')) return [a];
    const rest = a.replace(/u/g, '');
    return rest === '-' ? [] : [rest];
  });
}

/**
 * The whole tree against one remote: the full sync's run (its `--exclude-from` list of filtered
 * paths on stdin, the crontab filter, `--modify-window`), always with `--delete` so that entries
 * only the replica has are seen, as a dry run.
 */
export function verifyTask(config: Config, root: string, remote: Remote, checksum: boolean): RsyncTask {
  const withDelete: Config = { ...config, inotify: { ...config.inotify, delete: true } };
  const [full] = planRuns([{ kind: 'full', path: '' }], {
    config: withDelete,
    root,
    remote,
    filter: filterSpecOf(config, root),
  });
  if (full === undefined) throw new Error('a full sync plans one run');
  return { ...full, args: [...dryRunOptions(checksum), ...withoutUpdate(full.args)] };
}

/**
 * The same comparison for `paths` only: the engine's delete form (an include chain of exactly
 * these paths, `--exclude=*`) as a dry run without `--ignore-times`, so rsync's own check decides.
 */
export function recheckTask(
  config: Config,
  root: string,
  remote: Remote,
  paths: readonly RelPath[],
  checksum: boolean,
): RsyncTask {
  return pathsDryRun(config, root, remote, paths, { checksum, deletes: true });
}

/**
 * Whether the remote takes a run at all, sending nothing: the root alone (`--exclude=*` and no
 * names), with what a full sync asks of it (its window, `--delete` when deletes are on), as a dry
 * run. It connects and logs in as the engine does, and the remote's refusals (an unknown module, a
 * read-only one, `refuse options`, an rsync that does not know the window) come as they would.
 */
export function preflightTask(config: Config, root: string, remote: Remote): RsyncTask {
  return pathsDryRun(config, root, remote, [], { checksum: false, deletes: config.inotify.delete });
}

/** A dry run of `paths` alone in the delete form, with the full sync's window. */
function pathsDryRun(
  config: Config,
  root: string,
  remote: Remote,
  paths: readonly RelPath[],
  opts: { readonly checksum: boolean; readonly deletes: boolean },
): RsyncTask {
  const full = verifyTask(config, root, remote, opts.checksum);
  const window = full.args.filter((a) => a.startsWith('--modify-window'));
  const args = deleteArgs(remote, config.rsync).filter((a) => a !== '--delete' || opts.deletes);
  return {
    kind: 'delete',
    cwd: root,
    stallS: full.stallS,
    access: full.access,
    filter: full.filter,
    args: [...dryRunOptions(opts.checksum), ...window, ...withoutUpdate(args)],
    input: { kind: 'rules', rules: deleteRules(paths) },
  };
}
