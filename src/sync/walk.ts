import { readdirSync, type Dirent } from 'node:fs';
import type { PathPredicate } from '../filter/path-filter.js';
import { fromBytes, joinRel, pathBytes, type RelPath } from '../paths.js';

/** Absolute path of a tree entry as bytes (names are bytes; see paths.ts). */
export function absoluteBytes(root: string, rel: RelPath): Buffer {
  return rel === '' ? Buffer.from(root) : Buffer.concat([Buffer.from(`${root}/`), pathBytes(rel)]);
}

/**
 * Every entry below `start` (not `start` itself), depth first, parents before children; `visit`
 * sees each with its kind and says nothing about descent: excluded directories are skipped with
 * their subtree, excluded files are reported to `onExcluded`. Symlinks are entries, never
 * followed. A directory that vanishes mid-walk is skipped (its removal has its own event); one
 * that cannot be read (no permission) is reported to `onUnreadable`: what is in it was not seen.
 */
export function walkTree(
  root: string,
  start: RelPath,
  excluded: PathPredicate,
  visit: (path: RelPath, isDir: boolean) => void,
  onExcluded: (path: RelPath, isDir: boolean) => void = () => undefined,
  onUnreadable: (dir: RelPath) => void = () => undefined,
): void {
  const stack: RelPath[] = [start];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    let entries: Dirent<Buffer>[];
    try {
      entries = readdirSync(absoluteBytes(root, dir), { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') onUnreadable(dir);
      continue;
    }
    for (const e of entries) {
      const path = joinRel(dir, fromBytes(e.name));
      const isDir = e.isDirectory();
      if (excluded(path, isDir)) {
        onExcluded(path, isDir);
        continue;
      }
      visit(path, isDir);
      if (isDir) stack.push(path);
    }
  }
}
