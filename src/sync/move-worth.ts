import { lstatSync, readdirSync } from 'node:fs';

/**
 * Below this many bytes a renamed directory goes with the batch's sends: its own `--link-dest`
 * run is one more rsync session (a daemon fork, 30–50 ms here) and costs more than its bytes.
 */
export const MOVE_MIN_BYTES = 256 * 1024;
/** Past this many entries a directory is rebuilt from its old copy without counting further. */
const MOVE_MIN_ENTRIES = 256;

/**
 * Whether a directory renamed within the tree (`dir`: its absolute path's bytes, as it is now) is worth its own run
 * that rebuilds it from the old copy on the replica. Reads at most MOVE_MIN_ENTRIES entries and
 * follows no symbolic link; a directory that cannot be read is left to the run (it reports why).
 */
export function worthRebuilding(dir: Buffer): boolean {
  let bytes = 0;
  let entries = 0;
  const pending = [dir];
  try {
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      for (const entry of readdirSync(next, { withFileTypes: true, encoding: 'buffer' })) {
        if (++entries > MOVE_MIN_ENTRIES) return true;
        const path = Buffer.concat([next, SLASH, entry.name]);
        if (entry.isDirectory()) pending.push(path);
        else if (entry.isFile() && (bytes += lstatSync(path).size) >= MOVE_MIN_BYTES) return true;
      }
    }
  } catch {
    return true;
  }
  return false;
}

const SLASH = Buffer.from('/');
