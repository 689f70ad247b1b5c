import { closeSync, fstatSync } from 'node:fs';
import { displayPath, type RelPath } from '../paths.js';
import { isExhaustion } from '../process-start.js';
import type { DirIdentity } from './root-identity.js';
import { fdPath, openTreeDir, realRoot } from './walk.js';

/** The child's descriptor number for the directory it starts in (after stdin, stdout, stderr). */
export const PINNED_FD = 3;

/** rsync started in a directory of the tree held open: the child's cwd and the descriptor it inherits. */
export interface PinnedPlace {
  readonly cwd: string;
  readonly fd: number;
  /** The tree's root as held open: the run's walks and checks go through it, never through its name. */
  readonly tree: string;
  /** Closes what this process holds; call once the child has started (or will not). */
  readonly close: () => void;
}

/**
 * Where to start an rsync of the tree at `root` (its real directory) whose source is its
 * directory `rel` ('' for the root itself). Given as a name, a directory swapped for a symlink
 * after it was checked would be followed (the root replaced by `ln -s /root/secret src`, a
 * renamed `./rel/`); instead the root is opened without following a link, must still be the
 * directory `expected` names (device + inode, as the tree recorded it), `rel` is opened below it
 * the same way (`openTreeDir`), the child inherits it as fd 3 and starts in `/proc/self/fd/3`
 * (libuv sets up descriptors before it changes directory), and the source is `./` (or the
 * paths listed relative to it). A string says why there is no such directory now; out of
 * descriptors (EMFILE, ENFILE) it throws, holding nothing open.
 */
export function pinnedPlace(root: string, rel: RelPath, expected?: DirIdentity): PinnedPlace | string {
  const rootFd = openDir(root, '', `the watched directory ${root}`);
  if (typeof rootFd === 'string') return rootFd;
  const st = fstatSync(rootFd);
  if (expected !== undefined && (st.dev !== expected.dev || st.ino !== expected.ino)) {
    closeSync(rootFd);
    return `the watched directory ${root} is no longer the directory being watched (replaced): nothing is sent from it`;
  }
  const tree = fdPath(rootFd);
  if (rel === '') return { cwd: fdPath(PINNED_FD), fd: rootFd, tree, close: () => closeSync(rootFd) };
  let fd: number | string;
  try {
    fd = openDir(tree, rel, displayPath(rel));
  } catch (err) {
    closeSync(rootFd);
    throw err;
  }
  if (typeof fd === 'string') {
    closeSync(rootFd);
    return fd;
  }
  return {
    cwd: fdPath(PINNED_FD),
    fd,
    tree,
    close: () => {
      closeSync(fd);
      closeSync(rootFd);
    },
  };
}

/** The directory `rel` below `root`'s real path, opened without following links, or why not. */
function openDir(root: string, rel: RelPath, what: string): number | string {
  let fd: number | null;
  try {
    fd = openTreeDir(realRoot(root), rel);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') fd = null;
    else if (isExhaustion(err))
      throw err; // not the directory's fault: the caller says whose
    else return `cannot open ${what}: ${(err as Error).message}`;
  }
  return fd ?? `${what} is no longer a directory there (moved, removed or a symlink)`;
}
