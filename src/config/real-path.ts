/**
 * A path with its symbolic links resolved, even when its last parts do not exist yet (a replica
 * directory that the first sync creates): the longest existing prefix is resolved, the rest kept.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isWithinPath } from '../paths.js';

export function existingRealPath(path: string): string {
  const missing: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    try {
      return join(realpathSync(p), ...missing.reverse());
    } catch {
      if (dirname(p) === p) return path;
      missing.push(basename(p));
    }
  }
}

/**
 * Whether `inner` lies within `outer`: null when not, '' when their names say so, or what the links
 * make of them when only their real paths do (`realPath` null: by name only).
 */
export function within(
  inner: string,
  outer: string,
  realPath: ((path: string) => string) | null = existingRealPath,
): string | null {
  if (isWithinPath(inner, outer)) return '';
  if (realPath === null) return null;
  const [realInner, realOuter] = [realPath(inner), realPath(outer)];
  return isWithinPath(realInner, realOuter)
    ? ` (through a symbolic link: ${realInner} is inside ${realOuter})`
    : null;
}
