/**
 * How every rsync starts, the engine's runs and verify's dry runs alike: in its directory of the
 * tree held open (see `pinnedPlace`), confined to it and `access` (see `confine.ts`), its
 * password then in its environment (see `password-env.ts`).
 */
import { spawn, type ChildProcessWithoutNullStreams, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CONFINE_HELPER, confinedCommand } from './confine.js';
import { passwordInEnv } from './password-env.js';
import { PINNED_FD, type PinnedPlace } from './rsync-place.js';
import type { RunAccess } from './task.js';

/** Built at install with the inotify binding; without it runs go unconfined, and status says so. */
export const CONFINABLE = existsSync(CONFINE_HELPER);

/** Starts `rsync argv` in `place`; closes what this process holds of it. `signal` kills rsync. */
export function startRsync(
  place: PinnedPlace,
  argv: readonly string[],
  access: RunAccess,
  signal?: AbortSignal,
): ChildProcessWithoutNullStreams {
  try {
    const options: SpawnOptions = {
      cwd: place.cwd,
      stdio: ['pipe', 'pipe', 'pipe', place.fd],
      ...(signal === undefined ? {} : { signal }),
    };
    if (!CONFINABLE) return spawn('rsync', argv, options) as ChildProcessWithoutNullStreams;
    const login = passwordInEnv(argv, process.getuid?.() ?? -1);
    const { command, args } = confinedCommand(
      login === null ? access : { ...access, reads: access.reads.filter((r) => r !== login.file) },
      PINNED_FD,
      login?.argv ?? argv,
    );
    const env = login === null ? process.env : { ...process.env, RSYNC_PASSWORD: login.password };
    return spawn(command, args, { ...options, env }) as ChildProcessWithoutNullStreams;
  } finally {
    place.close(); // the child has its copy: spawn returns once rsync is exec'd
  }
}
