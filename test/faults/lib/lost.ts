/**
 * What a case lost: files of the source (anything not a directory) missing on the replica or
 * different there (type, bytes, a symlink's target), as paths relative to the source.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';

function same(a: string, b: string, sa: Stats): boolean {
  let sb: Stats;
  try {
    sb = lstatSync(b);
  } catch {
    return false;
  }
  if (sa.isSymbolicLink())
    return sb.isSymbolicLink() && readlinkSync(a, 'buffer').equals(readlinkSync(b, 'buffer'));
  if (sa.isFile()) return sb.isFile() && sa.size === sb.size && readFileSync(a).equals(readFileSync(b));
  return sb.mode === sa.mode; // fifo, socket, device: the same kind
}

/** The source's files that the replica lacks or holds differently; `excludes` are skipped basenames. */
export function lostFiles(src: string, replica: string, excludes: readonly string[] = []): string[] {
  const lost: string[] = [];
  const walk = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(join(src, rel), { withFileTypes: true });
    } catch {
      return; // removed while we looked: not a file of the source any more
    }
    for (const e of entries) {
      if (excludes.includes(e.name)) continue;
      const path = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        walk(path);
        continue;
      }
      let stats: Stats;
      try {
        stats = lstatSync(join(src, path));
      } catch {
        continue;
      }
      if (!same(join(src, path), join(replica, path), stats)) lost.push(path);
    }
  };
  walk('');
  return lost;
}
