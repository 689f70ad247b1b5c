import { closeSync, lstatSync } from 'node:fs';
import type { RelPath } from '../paths.js';
import { absoluteBytes, openTreeDir, realRoot, walkTree } from './walk.js';

/**
 * Below this many bytes a renamed directory goes with the batch's sends: its own `--link-dest`
 * run is one more rsync session (a daemon fork, 30–50 ms here) and costs more than its bytes.
 */
export const MOVE_MIN_BYTES = 256 * 1024;
/** Past this many entries a directory is rebuilt from its old copy without counting further. */
const MOVE_MIN_ENTRIES = 256;

/**
 * Whether the directory `dir` of the tree at `root`, renamed within it, is worth its own run that
 * rebuilds it from the old copy on the replica. The tree's own walk (no link followed, nothing
 * reached through one), ended after MOVE_MIN_ENTRIES entries; a directory that cannot be read or
 * is not there is left to the run (it reports why).
 */
export function worthRebuilding(root: string, dir: RelPath): boolean {
  try {
    const fd = openTreeDir(realRoot(root), dir);
    if (fd === null) return true;
    closeSync(fd);
  } catch {
    return true;
  }
  let bytes = 0;
  let entries = 0;
  let worth = false;
  walkTree(
    root,
    dir,
    () => false,
    (path, isDir) => {
      worth = ++entries > MOVE_MIN_ENTRIES || (!isDir && (bytes += sizeOf(root, path)) >= MOVE_MIN_BYTES);
      return !worth;
    },
    undefined,
    () => {
      worth = true;
    },
  );
  return worth;
}

function sizeOf(root: string, path: RelPath): number {
  try {
    const st = lstatSync(absoluteBytes(root, path));
    return st.isFile() ? st.size : 0;
  } catch {
    return 0; // gone since the walk listed it
  }
}
