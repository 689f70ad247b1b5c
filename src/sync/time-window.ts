import { closedAfterAnswer } from './exit-codes.js';
import type { RsyncTask } from './task.js';

/**
 * Full syncs and verify compare modification times to the nanosecond (see `fullArgs`). The client
 * passes it to the receiver as `-@-1`, which a receiver before rsync 3.1.3 does not know (CentOS
 * 7's 3.1.2, the most common backup server sersync ever had): it refuses the whole run, and a
 * daemon of that series closes the connection with its reason unread. Such a remote is compared to
 * the second: a file rewritten at the same size within the second of the replica's copy is then
 * not found by a full sync (that receiver's own limit).
 */
export const NANO_WINDOW = '--modify-window=-1';

/** `task` without the nanosecond window; `task` itself when it has none. Pure. */
export function secondsWindow(task: RsyncTask): RsyncTask {
  return task.args.includes(NANO_WINDOW)
    ? { ...task, args: task.args.filter((a) => a !== NANO_WINDOW) }
    : task;
}

/**
 * Whether a run with the nanosecond window may have been refused for it: the receiver's own word
 * (`on remote machine: -@-1: unknown option`), an rsync 3.1 daemon closing on it unsaid, or a
 * daemon whose `refuse options` name `modify-window` (then no window can be set: to the second).
 */
export function mayRefuseNanoWindow(
  task: RsyncTask,
  failure: { exitCode: number; message: string },
): boolean {
  return (
    task.args.includes(NANO_WINDOW) &&
    (closedAfterAnswer(failure) ||
      /-@-1: unknown option|modify-window.*unknown option|configured to refuse --modify-window/.test(
        failure.message,
      ))
  );
}
