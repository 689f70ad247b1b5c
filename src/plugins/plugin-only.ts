import { lstatSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { toChanges, type Change } from '../filter/changes.js';
import { compilePathFilter, filterSpecOf, type PathPredicate } from '../filter/path-filter.js';
import type { Logger } from '../log/logger.js';
import { absoluteBytes } from '../sync/walk.js';
import { createWatcher } from '../watch/index.js';
import type { Watcher } from '../watch/types.js';
import { treeEvents } from './tree-events.js';
import type { Plugin, PluginEvent } from './types.js';

/** What a plugin is told about a change when no rsync runs (`-m`, or a plugin's own watch). */
export function pluginEventsOf(root: string, change: Change, excluded: PathPredicate): PluginEvent[] {
  switch (change.kind) {
    case 'sync':
      return [{ root, path: change.path, isDir: isDirectory(root, change.path), op: 'sync' }];
    case 'tree':
      return treeEvents(root, change.path, excluded);
    case 'delete':
      return [{ root, path: change.path, isDir: change.isDir, op: 'delete' }];
    case 'rename':
      return [
        { root, path: change.from, isDir: change.isDir, op: 'delete' },
        { root, path: change.to, isDir: change.isDir, op: 'sync' },
      ];
    case 'new':
    case 'resync':
      return [];
  }
}

function isDirectory(root: string, path: string): boolean {
  try {
    return lstatSync(absoluteBytes(root, path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Watches `roots` and hands the plugin every change, in order, with no rsync: sersync's
 * `-m PLUGIN`, and a plugin's own watch outside the sync trees. The `<filter>`, `<inotify>`
 * toggles and `<fileSystem>` still apply. Resolves once every watch is set, to a function that
 * stops the watchers (the caller closes the plugin).
 */
export async function runPluginOnly(
  config: Config,
  plugin: Plugin,
  roots: readonly string[],
  log: Logger,
  announce: (root: string) => void,
): Promise<() => Promise<void>> {
  const excluded = compilePathFilter(filterSpecOf(config));
  const watchers: Watcher[] = [];
  let work = Promise.resolve();
  for (const root of roots) {
    announce(root);
    const watcher = createWatcher(config.fileSystem.watcher, {
      root,
      xfs: config.fileSystem.xfs,
      skipDir: (rel) => excluded(rel, true),
      onEvents: (events) => {
        const batch = events.flatMap((ev) =>
          toChanges(ev, config.inotify, excluded).flatMap((c) => pluginEventsOf(root, c, excluded)),
        );
        work = work.then(async () => {
          for (const ev of batch) await plugin.handle(ev);
        });
      },
      onError: (err) => {
        log.error({ err, root }, 'watcher error');
      },
    });
    await watcher.start();
    watchers.push(watcher);
  }
  return async () => {
    await Promise.all(watchers.map((w) => w.close()));
    await work;
  };
}
