/**
 * Why a child process (rsync, its confinement helper, a plugin's program) could not be started, in
 * the operator's terms. A program that is not installed and a system out of descriptors or
 * processes are different faults with different fixes; reading one as the other sends the operator
 * to reinstall rsync while the file table stays full.
 */
import type { ChildProcess } from 'node:child_process';

/** What each such error means, with the fix where one is known. */
const MEANING: Readonly<Record<string, string>> = {
  EMFILE:
    'sersync2 has as many files open as its limit allows (EMFILE): raise it (LimitNOFILE= in its systemd unit, ulimit -n)',
  ENFILE:
    "the system's table of open files is full (ENFILE): fs.file-max is reached, by sersync2 or another process (/proc/sys/fs/file-nr)",
  EAGAIN:
    'no process can be started (EAGAIN): a limit on processes is reached (ulimit -u, TasksMax= in the systemd unit, the cgroup pids.max)',
  ENOMEM: 'not enough memory to start a process (ENOMEM)',
};

/** Which limit of the process or the system `err` says is reached, with its fix; null when none. */
export function limitReached(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code ?? '';
  return Object.hasOwn(MEANING, code) ? (MEANING[code] ?? null) : null;
}

/** Whether `err` says a limit of the process or the system is reached (it heals once it is not). */
export function isExhaustion(err: unknown): boolean {
  return limitReached(err) !== null;
}

/** Why `program` did not start (or a file could not be opened on the way), in the operator's terms. */
export function whyNotStarted(err: unknown, program: string): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return `${program} is not installed (not found, ENOENT)`;
  if (e.code === 'EACCES') return `${program} cannot be executed (EACCES)`;
  return limitReached(err) ?? e.message;
}

/**
 * Node makes no pipes when a spawn fails for want of descriptors (EMFILE, ENFILE): the child's
 * streams are not set and the error comes on its 'error' event. Resolves with that error; null when
 * the pipes exist (any other failure of the spawn still comes on 'error', as usual).
 */
export function refusedForPipes(child: ChildProcess): Promise<Error> | null {
  if (child.stdout != null || child.stderr != null) return null; // never set then: undefined
  return new Promise((resolve) => child.once('error', resolve));
}
