/**
 * A path with its symbolic links resolved, even when its last parts do not exist yet (a replica
 * directory that the first sync creates): the longest existing prefix is resolved, the rest kept.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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
