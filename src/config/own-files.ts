/**
 * sersync2's own files (its state directory with the retry queue and control socket, its log, its
 * pid file) stay out of what it replicates. Inside a watched tree they would be sent to every
 * replica, and each write to them would be a change to send: a log line per sync, the queue on
 * every failure, which while a remote is down is a failure again, without end. Inside a local
 * replica a full sync with `--delete` deletes them, the queue with its pending retries first. (The
 * fail log, which sersync's configs put where they like, is kept out of replication instead:
 * `FilterSpec.own`.)
 */
import { within } from './real-path.js';
import { localReplicas } from './remote-kinds.js';
import type { LocalPath } from './types.js';

/** One of sersync2's files or directories, with how the operator named it. */
export interface OwnFile {
  /** What it is, e.g. `the log file`. */
  readonly what: string;
  /** Where it was named (`--log-file`, `<state dir>`); null for a default. */
  readonly from: string | null;
  /** Absolute. */
  readonly path: string;
}

/**
 * Why the first of `files` that lies in a watched tree or a local replica of `trees` (by name or
 * through links, see `within`) may not be there; null when none does.
 */
export function misplacedOwnFile(files: readonly OwnFile[], trees: readonly LocalPath[]): string | null {
  const places = [
    ...trees.map((t) => ({
      dir: t.watch,
      kind: 'watched tree',
      effect:
        'it would be replicated, and each write to it would be a change to replicate, which writes it again: without end',
    })),
    ...localReplicas(trees).map((dir) => ({
      dir,
      kind: 'local replica',
      effect: 'a full sync with --delete would delete it',
    })),
  ];
  for (const file of files) {
    for (const place of places) {
      const how = within(file.path, place.dir);
      if (how === null) continue;
      const from = file.from === null ? '' : ` (${file.from})`;
      return `${file.what} ${file.path}${from} lies inside the ${place.kind} ${place.dir}${how}: ${place.effect}; move it outside every watched tree and local replica`;
    }
  }
  return null;
}
