import type { PluginName } from '../config/types.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { displayPath } from '../paths.js';
import type { PluginStats } from './stats.js';
import type { Plugin, PluginEvent } from './types.js';

/** A plugin as `sersync2 status` and /metrics report it. */
export interface PluginReport extends PluginStats {
  readonly name: PluginName;
  /** Events not yet delivered: handed over and waiting for their turn, plus the plugin's backlog. */
  readonly pending: number;
  /**
   * Times the kernel dropped events (inotify queue overflow) in a tree the plugin is told about:
   * the changes lost there never reach it (rsync's resync carries them; a plugin gets no resync).
   */
  readonly overflows: number;
  readonly lastOverflowAt: number | null;
  /**
   * Events not handed over because their tree's root was replaced before their turn (by name,
   * their paths would lead outside the tree): the plugin was never told of those changes.
   */
  readonly withheld: number;
  readonly lastWithheldAt: number | null;
}

export interface HandOptions {
  readonly done?: () => void;
  readonly usable?: (ev: PluginEvent) => boolean;
}

/**
 * Hands a plugin its events in order, one at a time, as sersync did, from every tree that tells
 * it (the sync trees after their batches, its own watches); counts what waits and what it missed.
 */
export class PluginFeed {
  private work: Promise<void> = Promise.resolve();
  private waiting = 0;
  private overflows = 0;
  private lastOverflowAt: number | null = null;
  private withheld = 0;
  private lastWithheldAt: number | null = null;

  constructor(
    readonly plugin: Plugin,
    private readonly log: Logger = silentLogger,
  ) {}

  /**
   * Queues `events` behind those handed before; `done` runs after each one the plugin finished.
   * `usable` is asked right before each event: false withholds it (its tree's root was replaced
   * meanwhile, so its path, by name, would lead outside the tree).
   */
  hand(events: readonly PluginEvent[], opts: HandOptions = {}): void {
    if (events.length === 0) return;
    this.waiting += events.length;
    // `handle` never rejects (failures are the plugin's to count and log), so the chain holds.
    this.work = this.work.then(async () => {
      for (const ev of events) {
        if (opts.usable?.(ev) !== false) await this.plugin.handle(ev);
        else {
          this.withheld++;
          this.lastWithheldAt = Date.now();
          this.log.warn(
            { root: ev.root, path: displayPath(ev.path), plugin: this.plugin.name },
            "not handed to the plugin: its tree's root was replaced, so the path would lead outside the tree",
          );
        }
        this.waiting--;
        opts.done?.();
      }
    });
  }

  /** The kernel dropped events in a tree the plugin is told about. */
  missed(): void {
    this.overflows++;
    this.lastOverflowAt = Date.now();
  }

  /** Resolves once every event handed so far is done. */
  drained(): Promise<void> {
    return this.work;
  }

  report(): PluginReport {
    const stats = this.plugin.stats();
    return {
      name: this.plugin.name,
      ...stats,
      pending: this.waiting + stats.backlog,
      overflows: this.overflows,
      lastOverflowAt: this.lastOverflowAt,
      withheld: this.withheld,
      lastWithheldAt: this.lastWithheldAt,
    };
  }
}
