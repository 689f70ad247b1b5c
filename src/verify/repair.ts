/** What `sersync2 verify --repair` asks the daemon's lanes to do for each difference. Pure. */
import type { Change } from '../filter/changes.js';
import type { Difference } from './itemize.js';

/**
 * The changes that bring the replica's entry in line with the tree, as if their events had been
 * seen: the lane sends them like any other (one batch at a time, so per-path order holds).
 */
export function repairChanges(diffs: readonly Difference[]): Change[] {
  return diffs.flatMap((d): Change[] => {
    const send: Change = d.isDir ? { kind: 'tree', path: d.path } : { kind: 'sync', path: d.path };
    switch (d.kind) {
      case 'extra':
        return [{ kind: 'delete', path: d.path, isDir: d.isDir }];
      case 'type':
        return [{ kind: 'delete', path: d.path, isDir: !d.isDir }, send];
      case 'missing':
        return [send];
      case 'content':
      case 'mode':
      case 'owner':
      case 'mtime':
        return [{ kind: 'sync', path: d.path }];
    }
  });
}
