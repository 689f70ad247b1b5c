import type { PathOp } from '../coalesce/types.js';
import type { Config, Remote } from '../config/types.js';
import { filterSpecOf } from '../filter/path-filter.js';
import type { RelPath } from '../paths.js';
import { deleteArgs, deleteRules, fullArgs, moveArgs, syncArgs } from './rsync-args.js';
import type { RsyncTask } from './task.js';

/** Everything that shapes the rsync runs of one tree towards one remote. */
export interface PlanContext {
  readonly config: Config;
  readonly root: string;
  readonly remote: Remote;
}

/**
 * The rsync runs that carry a batch of operations to one remote, in the order they must run:
 * renamed directories first (their basis on the replica still exists), then one run for every
 * removal, then one run for every send. A full resync runs alone. Pure.
 */
export function planRuns(ops: readonly PathOp[], ctx: PlanContext): RsyncTask[] {
  const { config, root, remote } = ctx;
  const rsync = config.rsync;
  const deleteEnabled = config.inotify.delete;
  const base = { cwd: root, filter: filterSpecOf(config), timeoutMs: 0 };
  const runs: RsyncTask[] = [];
  const removals: RelPath[] = [];
  const paths: RelPath[] = [];
  const trees: RelPath[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'full': {
        const crontab = config.crontab.filter.enabled ? config.crontab.filter.excludes : [];
        runs.push({
          ...base,
          args: fullArgs(remote, rsync, deleteEnabled, crontab),
          input: { kind: 'excluded' },
        });
        break;
      }
      case 'move': {
        const args = moveArgs(remote, rsync, op.path, op.from, deleteEnabled);
        if (args === null) trees.push(op.path);
        else runs.push({ ...base, args, input: null });
        break;
      }
      case 'delete':
        removals.push(op.path);
        break;
      case 'sync':
        paths.push(op.path);
        break;
      case 'tree':
        trees.push(op.path);
        break;
    }
  }
  if (removals.length > 0) {
    runs.push({
      ...base,
      args: deleteArgs(remote, rsync),
      input: { kind: 'rules', rules: deleteRules(removals) },
    });
  }
  if (paths.length + trees.length > 0) {
    runs.push({ ...base, args: syncArgs(remote, rsync), input: { kind: 'files', paths, trees } });
  }
  return runs;
}
