import {
  closeSync,
  constants,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  type Dirent,
} from 'node:fs';
import type { PathPredicate } from '../filter/path-filter.js';
import { fromBytes, joinRel, pathBytes, type RelPath } from '../paths.js';

/** Absolute path of a tree entry as bytes (names are bytes; see paths.ts). */
export function absoluteBytes(root: string | Buffer, rel: RelPath): Buffer {
  const r = Buffer.from(root);
  if (rel === '') return r;
  return Buffer.concat([r, Buffer.from(r.at(-1) === 0x2f ? '' : '/'), pathBytes(rel)]); // the root may be `/`
}

/*
 * Directories of the tree are reached without following a symlink. Whoever may write the tree
 * can swap one of its directories (or a parent of one) for a link to a directory only root may
 * read, between an event and the moment we look: what is reached through such a link is outside
 * the tree and must never be listed or sent. A directory is opened `O_NOFOLLOW` (its own name
 * must not be a link), then asked where it really is (`/proc/self/fd`): a link among its parents
 * shows as another path. What follows goes through the open descriptor, which cannot change.
 */

/** The root as the kernel names it: every directory of the tree is found below it. */
export function realRoot(root: string): Buffer {
  return realpathSync.native(root, { encoding: 'buffer' });
}

/** The path that opens what the descriptor `fd` of this process holds, whatever its name now. */
export function fdPath(fd: number): string {
  return `/proc/self/fd/${fd}`;
}

/**
 * A descriptor of the directory `rel` below `real` (see `realRoot`), or null when there is no
 * such directory now: gone, not a directory, a symlink, or reached through one. Other errors
 * (no permission) throw.
 */
export function openTreeDir(real: Buffer, rel: RelPath): number | null {
  const path = absoluteBytes(real, rel);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    throw err;
  }
  if (readlinkSync(fdPath(fd), { encoding: 'buffer' }).equals(path)) return fd;
  closeSync(fd);
  return null;
}

/** The entries of the directory `rel` of the tree; null when it is not one now (see `openTreeDir`). */
function listTreeDir(real: Buffer, rel: RelPath): Dirent<Buffer>[] | null {
  const fd = openTreeDir(real, rel);
  if (fd === null) return null;
  try {
    return readdirSync(fdPath(fd), { withFileTypes: true, encoding: 'buffer' });
  } finally {
    closeSync(fd);
  }
}

/**
 * Every entry below `start` (not `start` itself), depth first, parents before children; `visit`
 * sees each with its kind and says nothing about descent (it may end the walk by returning false): excluded directories are skipped with
 * their subtree, excluded files are reported to `onExcluded`. Symlinks are entries, never
 * followed, and a directory that has become one (or moved) before it is read is not entered. A
 * directory that vanishes mid-walk is skipped (its removal has its own event); one that cannot
 * be read (no permission) is reported to `onUnreadable`: what is in it was not seen.
 */
export function walkTree(
  root: string,
  start: RelPath,
  excluded: PathPredicate,
  visit: (path: RelPath, isDir: boolean) => unknown,
  onExcluded: (path: RelPath, isDir: boolean) => void = () => undefined,
  onUnreadable: (dir: RelPath) => void = () => undefined,
): void {
  let real: Buffer;
  try {
    real = realRoot(root);
  } catch (err) {
    // no root: nothing to walk (the root's own checks say why)
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') onUnreadable(start);
    return;
  }
  const stack: RelPath[] = [start];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    let entries: Dirent<Buffer>[] | null;
    try {
      entries = listTreeDir(real, dir);
    } catch {
      onUnreadable(dir);
      continue;
    }
    for (const e of entries ?? []) {
      const path = joinRel(dir, fromBytes(e.name));
      const isDir = e.isDirectory();
      if (excluded(path, isDir)) {
        onExcluded(path, isDir);
        continue;
      }
      if (visit(path, isDir) === false) return;
      if (isDir) stack.push(path);
    }
  }
}
