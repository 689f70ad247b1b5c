/**
 * The running daemon around the replication engine: answers the control socket (`status`,
 * `resync`), serves the optional /metrics and /status, reloads the config on SIGHUP, and warns
 * when the inotify watches near their limit. The engine itself (queue, watchers, lanes, plugin,
 * crontab for one config) is made by the caller's factory, so a reload is: stop one, start one.
 */
import type { Config } from '../config/types.js';
import type { LogTrouble } from '../log/logger.js';
import type { FailLogTrouble } from '../queue/fail-log-mirror.js';
import type { RsyncReport } from '../sync/rsync-version.js';
import type { Change } from '../filter/changes.js';
import { formatWarning } from '../config/present.js';
import { SersyncError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { PluginReport } from '../plugins/feed.js';
import type { LaneRetries } from '../queue/types.js';
import type { TreeStatus } from '../sync/replicator.js';
import type { VerifyStatus } from '../verify/periodic.js';
import { packageVersion } from '../version.js';
import type { WatchStats } from '../watch/types.js';
import type { ControlServer } from './control.js';
import type { HttpEndpoint } from './http.js';
import { checkWatchHeadroom } from './inotify-usage.js';
import {
  addRun,
  buildStatus,
  pluginWithPast,
  withPast,
  type DaemonStatus,
  type PoolReport,
  type ReloadRefusal,
} from './status.js';

/** What runs for one config; `stop` lets the batches in flight finish and records their outcome. */
export interface Engine {
  readonly config: Config;
  readonly watchStats: readonly WatchStats[];
  status(): TreeStatus[];
  /** Queues a full sync of one tree (its watched root) or of all. */
  resync(root?: string): void;
  retriesByLane(): readonly LaneRetries[];
  /** While the fail log is not written. */
  failLogTrouble(): FailLogTrouble | null;
  /** The crontab's next full sync, or null. */
  nextFullSyncAt(): number | null;
  /** What each lane has not sent yet (Replicator.outstanding). */
  outstanding(): unknown;
  /** The last periodic verify, or null when `<verify>` is off. */
  verifyStatus(): VerifyStatus | null;
  /** The plugin of `<plugin start="true">`, or null. */
  plugin(): PluginReport | null;
  /** Queues changes on one lane (Replicator.repair); returns how many. */
  repair(root: string, remote: string, changes: readonly Change[]): number;
  stop(): Promise<void>;
}

export type EngineFactory = (
  config: Config,
  opts: {
    /** Queue a full sync of every tree once watching (`-r`, or after a reload). */
    readonly fullSync: boolean;
    /** Started by a reload (console lines go to the log only). */
    readonly reload: boolean;
  },
) => Promise<Engine>;

export interface ServiceDeps {
  readonly control: ControlServer;
  readonly pool: PoolReport;
  readonly log: Logger;
  readonly startEngine: EngineFactory;
  /**
   * Reads the config file again (SIGHUP); throws when it cannot replace the running one (it would
   * move sersync2's own files, or bring a tree over them).
   */
  readonly loadConfig: () => Config;
  /** What is wrong with the installed rsync, once it was looked at (see LaterRsyncCheck). */
  readonly rsync?: () => RsyncReport | null;
  /** While the log file cannot be written (see `Log.trouble`). */
  readonly logTrouble?: () => LogTrouble | null;
  readonly now?: () => number;
}

export class Service {
  private engine: Engine | null = null;
  /** What engines ended by reloads counted. */
  private past: TreeStatus[] = [];
  /** What the plugins of engines ended by reloads counted. */
  private pastPlugin: PluginReport | null = null;
  private http: HttpEndpoint | null = null;
  private readonly startedAt: number;
  private reloads = 0;
  private lastReloadAt: number | null = null;
  /** The last reload that did not take effect, until one does. */
  private reloadRefused: ReloadRefusal | null = null;
  private switching: Promise<void> = Promise.resolve();
  /** Between stopping one engine and starting the next: there is nothing to ask. */
  private between = false;
  private stopped = false;

  constructor(private readonly deps: ServiceDeps) {
    this.startedAt = this.now();
  }

  /** Starts the engine and the endpoints; resolves to what each tree's watcher reported. */
  async start(config: Config, fullSync: boolean): Promise<readonly WatchStats[]> {
    const engine = await this.deps.startEngine(config, { fullSync, reload: false });
    this.engine = engine;
    this.http = await this.openHttp(config);
    this.deps.control.handle((request) => {
      switch (request.op) {
        case 'status':
          return this.status();
        case 'resync':
          return { resynced: this.resync(request.root) };
        case 'pending':
          return { lanes: this.running().outstanding() };
        case 'repair':
          return { queued: this.repair(request.root, request.remote, request.changes) };
      }
    });
    this.checkWatches(engine);
    return engine.watchStats;
  }

  status(): DaemonStatus {
    const engine = this.running();
    const { pool } = this.deps;
    return buildStatus({
      pid: process.pid,
      version: packageVersion(),
      configFile: engine.config.file,
      startedAt: this.startedAt,
      now: this.now(),
      reloads: this.reloads,
      lastReloadAt: this.lastReloadAt,
      reloadRefused: this.reloadRefused,
      rsync: this.deps.rsync?.() ?? null,
      logTrouble: this.deps.logTrouble?.() ?? null,
      trees: withPast(engine.status(), this.past),
      retries: engine.retriesByLane(),
      failLogTrouble: engine.failLogTrouble(),
      pool: {
        inFlight: pool.inFlight,
        maxConcurrent: pool.maxConcurrent,
        started: pool.started,
        cannotStart: pool.cannotStart,
      },
      nextFullSyncAt: engine.nextFullSyncAt(),
      verify: engine.verifyStatus(),
      plugin: pluginWithPast(engine.plugin(), this.pastPlugin),
    });
  }

  /** Queues a full sync of `root` (a watched root) or of every tree; returns the roots. */
  resync(root: string | null): string[] {
    const engine = this.running();
    const roots = engine.config.localpaths.map((lp) => lp.watch);
    const chosen = root === null ? roots : roots.filter((r) => r === root.replace(/(.)\/+$/, '$1'));
    if (chosen.length === 0) {
      throw new SersyncError(
        'ERR_SERSYNC_NO_TREE',
        `${root ?? ''} is not a watched tree of ${engine.config.file}; the trees are: ${roots.join(', ')}`,
      );
    }
    this.deps.log.info({ roots: chosen }, 'full sync requested (sersync2 resync)');
    for (const r of chosen) engine.resync(r);
    return chosen;
  }

  /** `sersync2 verify --repair`: the differing paths through the running lanes. */
  repair(root: string, remote: string, changes: readonly Change[]): number {
    const queued = this.running().repair(root, remote, changes);
    this.deps.log.info({ root, remote, changes: queued }, 'repair requested (sersync2 verify --repair)');
    return queued;
  }

  /**
   * SIGHUP: reads the config again. An unusable one is logged (with its file:line) and the
   * running config stays. A usable one replaces it: the engine stops (batches in flight finish
   * and are recorded), a new one starts on the same queue and pool and resyncs every tree, since
   * changes made while no watch was set, and the trees of new remotes, are known to nobody.
   * Reloads run one at a time. Rejects only when not even the old config could be started again.
   */
  reload(): Promise<void> {
    this.switching = this.switching.then(() => this.switchConfig());
    return this.switching;
  }

  /** Stops the endpoints and the engine (after a reload in progress). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.switching.catch(() => undefined);
    await this.http?.close();
    this.http = null;
    await this.engine?.stop();
  }

  private async switchConfig(): Promise<void> {
    const old = this.engine;
    if (this.stopped || old === null) return;
    const { log } = this.deps;
    const next = this.readConfig();
    if (next === null) return;
    log.info({ config: next.file }, 'reloading the config: stopping the running trees');
    this.between = true;
    try {
      await old.stop();
      this.past = addRun(this.past, old.status());
      this.pastPlugin = pluginWithPast(old.plugin(), this.pastPlugin) ?? this.pastPlugin;
      this.engine = null; // stopped: never stopped again
      this.engine = await this.deps.startEngine(next, { fullSync: true, reload: true });
    } catch (err) {
      log.error(
        { error: messageOf(err) },
        'reload: cannot start on the new config; going back to the previous one',
      );
      this.reloadRefused = { at: this.now(), error: `cannot start on it: ${messageOf(err)}` };
      this.engine = await this.deps.startEngine(old.config, { fullSync: true, reload: true });
      return;
    } finally {
      this.between = false;
    }
    await this.replaceHttp(old.config, next);
    this.reloads++;
    this.lastReloadAt = this.now();
    this.reloadRefused = null;
    this.checkWatches(this.engine);
    log.info(
      { trees: next.localpaths.map((lp) => ({ root: lp.watch, remotes: lp.remotes.map((r) => r.id) })) },
      'config reloaded; resyncing every tree',
    );
  }

  /** The new config, or null (logged) when it cannot be used. */
  private readConfig(): Config | null {
    const { log } = this.deps;
    try {
      const next = this.deps.loadConfig();
      for (const w of next.warnings) log.warn(`config warning: ${formatWarning(next.file, w)}`);
      return next;
    } catch (err) {
      log.error({ error: messageOf(err) }, 'reload refused; the running config stays');
      this.reloadRefused = { at: this.now(), error: messageOf(err) };
      return null;
    }
  }

  private async replaceHttp(before: Config, after: Config): Promise<void> {
    const same =
      before.host.metrics === after.host.metrics &&
      before.host.ip === after.host.ip &&
      before.host.port === after.host.port;
    if (same) return;
    await this.http?.close();
    this.http = null;
    try {
      this.http = await this.openHttp(after);
    } catch (err) {
      this.deps.log.error({ error: messageOf(err) }, 'reload: /metrics is not served');
    }
  }

  private async openHttp(config: Config): Promise<HttpEndpoint | null> {
    if (!config.host.metrics) return null;
    // node:http is loaded only where the endpoint is on (~2 MB resident, ~5 ms of start-up)
    const { serveHttp } = await import('./http.js');
    const http = await serveHttp(config.host.ip, config.host.port, () => this.status());
    this.deps.log.info({ address: http.address }, 'serving /metrics and /status');
    return http;
  }

  private checkWatches(engine: Engine): void {
    checkWatchHeadroom(
      engine.watchStats.reduce((n, s) => n + s.directories, 0),
      this.deps.log,
    );
  }

  private running(): Engine {
    if (this.between)
      throw new SersyncError(
        'ERR_SERSYNC_RELOADING',
        'sersync2 is reloading its config; ask again in a moment',
      );
    if (this.engine === null) throw new SersyncError('ERR_SERSYNC_STARTING', 'sersync2 is still starting');
    return this.engine;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

/** An error's message alone (a SersyncError's code is not for the operator's eyes; see `errorText`). */
function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
