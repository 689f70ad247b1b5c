import { displayPath, type RelPath } from '../paths.js';
import { openTreeDir, realRoot } from './walk.js';

/** The child's descriptor number for the directory it starts in (after stdin, stdout, stderr). */
export const PINNED_FD = 3;

/** rsync started in a directory of the tree held open: the child's cwd and the descriptor it inherits. */
export interface PinnedPlace {
  readonly cwd: string;
  readonly fd: number;
}

/**
 * Where to start an rsync whose source is the directory `rel` of the tree. Given as a name
 * (`./rel/`), rsync would follow it if it became a symlink after the event; instead the
 * directory is opened without following any link (`openTreeDir`), the child inherits it as
 * fd 3 and starts in `/proc/self/fd/3` (libuv sets up descriptors before it changes directory),
 * and the source is `./`. A string says why there is no such directory now. The caller closes
 * `fd` once the child has started.
 */
export function pinnedPlace(root: string, rel: RelPath): PinnedPlace | string {
  let fd: number | null;
  try {
    fd = openTreeDir(realRoot(root), rel);
  } catch (err) {
    return `cannot open ${displayPath(rel)}: ${(err as Error).message}`;
  }
  if (fd === null)
    return `${displayPath(rel)} is no longer a directory of the tree (moved, removed or a symlink)`;
  return { cwd: `/proc/self/fd/${PINNED_FD}`, fd };
}
