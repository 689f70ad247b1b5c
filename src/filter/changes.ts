import type { InotifyToggles } from '../config/types.js';
import type { RelPath } from '../paths.js';
import type { WatchEvent } from '../watch/types.js';
import type { PathPredicate } from './path-filter.js';

/**
 * A change the replica must follow: a watcher event after the `<inotify>` toggles and the path
 * filter have been applied. The lane holds `written` files; everything else is what the coalescer
 * consumes (`CoalescedChange`).
 */
export type Change =
  /** The entry's content or metadata changed: send it (a directory: its own attributes only). */
  | { readonly kind: 'sync'; readonly path: RelPath }
  /** A file appeared and its content is still coming: nothing to send yet, but the replica has no such entry. */
  | { readonly kind: 'new'; readonly path: RelPath }
  /**
   * A file's content changed and its writer has not closed it (IN_MODIFY with `<modify>` off):
   * nothing to send yet. Its close is a `sync`; should it never come, the lane sends the file once
   * nobody writes it (see UnclosedFiles).
   */
  | { readonly kind: 'written'; readonly path: RelPath }
  /**
   * A directory appeared (created or moved in): send it with everything below it. `prune`: the
   * replica's copy may hold what the source no longer has (a directory no watch follows).
   */
  | { readonly kind: 'tree'; readonly path: RelPath; readonly prune?: true }
  /** The entry is gone. */
  | { readonly kind: 'delete'; readonly path: RelPath; readonly isDir: boolean }
  /** Renamed within the tree. */
  | { readonly kind: 'rename'; readonly from: RelPath; readonly to: RelPath; readonly isDir: boolean }
  /** Events were lost: the whole tree must be resynced. */
  | { readonly kind: 'resync' };

/** The changes the coalescer takes: a `written` file reaches it as a `sync`, once closed or unchanged. */
export type CoalescedChange = Exclude<Change, { readonly kind: 'written' }>;

/**
 * Maps one watcher event to the changes it means for the replica. sersync's toggles keep their
 * meaning (a disabled kind of change is not replicated), with its defects fixed: IN_ATTRIB is a
 * sync, not a delete; a new directory is always sent with its contents; a created file is
 * remembered as new even when `createFile` is off, so a file created and removed before it is
 * sent (the `sed -i` temp file) never travels.
 */
export function toChanges(ev: WatchEvent, on: InotifyToggles, excluded: PathPredicate): Change[] {
  switch (ev.type) {
    case 'create':
      if (excluded(ev.path, ev.isDir)) return [];
      // Always, even with createFolder off: files written into a new directory before its watch
      // existed reach the replica only through this recursive send (sersync lost them).
      if (ev.isDir) return [{ kind: 'tree', path: ev.path }];
      return [{ kind: on.createFile ? 'sync' : 'new', path: ev.path }];
    case 'write':
      return on.closeWrite && !excluded(ev.path, false) ? [{ kind: 'sync', path: ev.path }] : [];
    case 'modify':
      if (excluded(ev.path, false)) return [];
      return [{ kind: on.modify ? 'sync' : 'written', path: ev.path }];
    case 'attrib':
      return on.attrib && !excluded(ev.path, ev.isDir) ? [{ kind: 'sync', path: ev.path }] : [];
    case 'delete':
      return on.delete && !excluded(ev.path, ev.isDir)
        ? [{ kind: 'delete', path: ev.path, isDir: ev.isDir }]
        : [];
    case 'move-in':
      return moveIn(ev.path, ev.isDir, on, excluded);
    case 'move-out':
      return moveOut(ev.path, ev.isDir, on, excluded);
    case 'rename': {
      const fromKept = !excluded(ev.from, ev.isDir);
      const toKept = !excluded(ev.to, ev.isDir);
      if (fromKept && toKept && on.moveFrom && on.moveTo && on.delete) {
        return [{ kind: 'rename', from: ev.from, to: ev.to, isDir: ev.isDir }];
      }
      return [
        ...(fromKept ? moveOut(ev.from, ev.isDir, on, excluded) : []),
        ...(toKept ? moveIn(ev.to, ev.isDir, on, excluded) : []),
      ];
    }
    case 'rewatched':
      // Only that directory went unseen (the rest of the tree was watched all along).
      if (ev.why === 'unwatchable') return excluded(ev.path, true) ? [] : [{ kind: 'tree', path: ev.path }];
      return [{ kind: 'resync' }];
    case 'overflow':
      return [{ kind: 'resync' }];
    case 'root-gone':
    case 'failed':
      return [];
  }
}

function moveIn(path: RelPath, isDir: boolean, on: InotifyToggles, excluded: PathPredicate): Change[] {
  if (!on.moveTo || excluded(path, isDir)) return [];
  return [isDir ? { kind: 'tree', path } : { kind: 'sync', path }];
}

/** sersync turned IN_MOVED_FROM into its delete command, which deletes only with `inotify/delete` on. */
function moveOut(path: RelPath, isDir: boolean, on: InotifyToggles, excluded: PathPredicate): Change[] {
  if (!on.moveFrom || !on.delete || excluded(path, isDir)) return [];
  return [{ kind: 'delete', path, isDir }];
}
