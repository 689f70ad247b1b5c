import { lstatSync } from 'node:fs';
import type { Config } from '../config/types.js';
import { toChanges, type Change } from '../filter/changes.js';
import { compilePathFilter, filterSpecOf, type PathPredicate } from '../filter/path-filter.js';
import type { Logger } from '../log/logger.js';
import type { TreeReport } from '../daemon/status.js';
import { TreeWatch } from '../sync/tree-watch.js';
import { absoluteBytes } from '../sync/walk.js';
import { createWatcher } from '../watch/index.js';
import type { WatchStats } from '../watch/types.js';
import { treeEvents } from './tree-events.js';
import type { PluginFeed } from './feed.js';
import type { PluginEvent } from './types.js';

/** Events seen on a root, and those not yet handed to the plugin. */
interface Counts {
  events: number;
  pending: number;
}

/** As the replicator's trees: the root's identity is checked every second. */
const ROOT_POLL_MS = 1000;

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
    case 'written': // told at its close, as sersync did
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

/** A plugin's own watch, running: what it reports, and how it stops. */
export interface PluginWatch {
  /** What each root's watcher reported once its watches were set. */
  readonly started: readonly WatchStats[];
  /** Each root as status reports it (`pending`: its events not yet handed to the plugin). */
  status(): TreeReport[];
  /** Stops the watches and waits for the events already taken (the caller closes the plugin). */
  stop(): Promise<void>;
}

/**
 * Watches `roots` and hands the plugin every change, in order, with no rsync: sersync's
 * `-m PLUGIN`, and a plugin's own watch outside the sync trees. The `<filter>`, `<inotify>`
 * toggles and `<fileSystem>` still apply. Each root has the replicator's watch health (TreeWatch):
 * a failed watcher is replaced, a vanished, replaced or unmounted root and the directories past the
 * watch limit are reported while they last. What a restart missed cannot be told to a plugin (it is
 * not known): its resync is nothing, and status shows the restart.
 */
export async function runPluginOnly(
  config: Config,
  feed: PluginFeed,
  roots: readonly string[],
  log: Logger,
  announce: (root: string) => void,
): Promise<PluginWatch> {
  const trees: { readonly root: string; readonly watch: TreeWatch; readonly counts: Counts }[] = [];
  const hand = (counts: Counts, watch: TreeWatch, events: readonly PluginEvent[]): void => {
    counts.pending += events.length;
    feed.hand(events, {
      done: () => {
        counts.pending--;
      },
      usable: () => watch.trusted(),
    });
  };
  const stop = async (): Promise<void> => {
    await Promise.all(trees.map((t) => t.watch.close()));
    await feed.drained();
  };
  try {
    for (const root of roots) {
      announce(root);
      const excluded = compilePathFilter(filterSpecOf(config, root));
      const counts: Counts = { events: 0, pending: 0 };
      const watch: TreeWatch = new TreeWatch({
        root,
        createWatcher: (opts) => createWatcher(config.fileSystem.watcher, opts),
        xfs: config.fileSystem.xfs,
        skipDir: (rel) => excluded(rel, true),
        log,
        onEvents: (events) => {
          counts.events += events.length;
          const batch: PluginEvent[] = [];
          for (const ev of events) {
            if (watch.handle(ev)) continue;
            if (ev.type === 'overflow') {
              log.warn(
                { root },
                'the kernel dropped events (inotify queue overflow): the plugin misses them',
              );
              feed.missed();
            }
            for (const c of toChanges(ev, config.inotify, excluded))
              batch.push(...pluginEventsOf(root, c, excluded));
          }
          hand(counts, watch, batch);
        },
        push: (change) => {
          hand(counts, watch, pluginEventsOf(root, change, excluded));
        },
        resumed: () => undefined,
        pollMs: ROOT_POLL_MS,
        // A replicator sends the directories past the watch limit whole now and then; a plugin would
        // be told every file in them each time. They are reported (status, the log), not handed over.
        gapSyncMs: null,
      });
      trees.push({ root, watch, counts });
    }
    const started: WatchStats[] = [];
    for (const t of trees) started.push(await t.watch.start());
    return {
      started,
      status: () => trees.map((t) => ({ root: t.root, ...t.watch.status(), ...t.counts })),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
