/**
 * How every rsync starts, the engine's runs and verify's dry runs alike: in its directory of the
 * tree held open (see `pinnedPlace`), confined to it and `access` (see `confine.ts`), its
 * password then in its environment (see `password-env.ts`).
 */
import { existsSync } from 'node:fs';
import { CONFINE_HELPER, confinedCommand } from './confine.js';
import { passwordInEnv } from './password-env.js';
import { startChild, type StartedChild } from '../posix-spawn.js';
import { PINNED_FD, type PinnedPlace } from './rsync-place.js';
import type { RunAccess } from './task.js';

/** Built at install with the inotify binding; without it runs go unconfined, and status says so. */
export const CONFINABLE = existsSync(CONFINE_HELPER);

/**
 * Starts `rsync argv` in `place`; closes what this process holds of it. `signal` kills rsync. When
 * no process started (not installed, out of descriptors or processes), resolves with why instead.
 */
export function startRsync(
  place: PinnedPlace,
  argv: readonly string[],
  access: RunAccess,
  signal?: AbortSignal,
): StartedChild | Promise<Error> {
  try {
    const login = CONFINABLE ? passwordInEnv(argv, process.getuid?.() ?? -1) : null;
    const { command, args } = CONFINABLE
      ? confinedCommand(
          login === null ? access : { ...access, reads: access.reads.filter((r) => r !== login.file) },
          PINNED_FD,
          login?.argv ?? argv,
        )
      : { command: 'rsync', args: argv };
    const env = login === null ? process.env : { ...process.env, RSYNC_PASSWORD: login.password };
    return startChild(command, args, { cwd: place.cwd, env, fd3: place.fd, signal });
  } finally {
    place.close(); // the child has its copy: the spawn returns once rsync is exec'd
  }
}
