import type { Failure } from '../queue/types.js';
import { refusedRemovals } from './exit-codes.js';
import type { RsyncTask } from './task.js';
import { mayRefuseNanoWindow, secondsWindow } from './time-window.js';

/**
 * What a run gives up when its remote refuses it whole for one option it can go without: the
 * nanosecond window (see `time-window.ts`: times are then compared to the second), or `--delete` (a
 * daemon whose `refuse options` name `delete`, kept by admins who want the replica to keep every
 * file: a full sync then removes nothing, a dry run lists nothing only the replica has). sersync's
 * full sync was refused whole: what changed while it was stopped never arrived.
 */
export type Concession = 'nanosecond-window' | 'removals';

/** What a run conceded, each with the refusal that asked for it. */
export type Conceded = ReadonlyMap<Concession, Failure>;

/**
 * `task` without what `failure` says its remote refused, when its purpose survives that: a full
 * sync, or a dry run (verify, `check --remotes`); else null. A removal run never concedes its
 * `--delete`: without it, it would remove nothing and succeed. Pure.
 */
export function concession(
  task: RsyncTask,
  failure: Failure,
): { readonly task: RsyncTask; readonly gave: Concession } | null {
  if (task.kind !== 'full' && !task.args.includes('--dry-run')) return null;
  if (mayRefuseNanoWindow(task, failure)) return { task: secondsWindow(task), gave: 'nanosecond-window' };
  if (refusedRemovals(failure) && task.args.includes('--delete'))
    return { task: { ...task, args: task.args.filter((a) => a !== '--delete') }, gave: 'removals' };
  return null;
}
