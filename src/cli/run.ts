/**
 * The legacy `sersync2 [-d] [-r] [-n NUM] [-m PLUGIN]` run: replicate according to the config
 * until SIGTERM or SIGINT, reloading it on SIGHUP. Wires config → watchers → filter → lanes →
 * rsync pool → retry queue (the engine, one per config: a reload starts a new one), and prints
 * the console lines sersync users grep for (`run the sersync:`, `watch path is:`,
 * `execute command:`) on stdout; everything else is the structured log.
 */
import { mkdirSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { misplacedOwnFile, type OwnFile } from '../config/own-files.js';
import { localReplicas } from '../config/remote-kinds.js';
import type { Config, PluginName } from '../config/types.js';
import { ControlServer, controlSocketFile, pluginControlSocketFile } from '../daemon/control.js';
import { detach, isDaemonChild, reportStartup, writePidFile } from '../daemon/detach.js';
import { Service, type Engine } from '../daemon/service.js';
import { lockWatchRoots, nestedRoots } from '../daemon/root-lock.js';
import { DaemonSignals } from '../daemon/signals.js';
import { buildPluginOnlyStatus } from '../daemon/status.js';
import { SersyncError } from '../errors.js';
import { filterSpecOf } from '../filter/path-filter.js';
import { openLog, type Logger, type LogTrouble } from '../log/logger.js';
import { PluginFeed } from '../plugins/feed.js';
import { createPlugin } from '../plugins/index.js';
import { runPluginOnly } from '../plugins/plugin-only.js';
import { pluginRoots } from '../plugins/roots.js';
import type { Plugin } from '../plugins/types.js';
import { shellWord } from '../queue/fail-log.js';
import { openQueueForConfig, type OpenedQueue } from '../queue/open.js';
import { resolveStateDir, stateDirFile, stateDirToAsk, stateFileFor } from '../queue/state-dir.js';
import { startCrontab, type Crontab } from '../schedule/crontab.js';
import { ReplicaRecords } from '../sync/local-replica.js';
import { planRuns } from '../sync/plan.js';
import type { ProgressBars } from '../sync/progress-bars.js';
import { logProgress, teeProgress, type ProgressReporter } from '../sync/progress-report.js';
import { RsyncPool } from '../sync/pool.js';
import { Replicator, type TreeStatus } from '../sync/replicator.js';
import { LaterRsyncCheck } from '../sync/rsync-version.js';
import type { PeriodicVerify } from '../verify/periodic.js';
import { packageVersion } from '../version.js';
import { createWatcher, describeWatcher } from '../watch/index.js';
import { describeChildStart } from '../posix-spawn.js';

export interface RunOptions {
  /** `-d`: run in the background. */
  readonly daemon: boolean;
  /** `-r`: one full sync of every tree to every remote before replicating changes. */
  readonly fullSyncAtStart: boolean;
  /** `-n`: concurrent rsync runs (sersync's worker threads; `-n 0` and absent mean 10). */
  readonly threads: number;
  /** `-o`, absolute. */
  readonly configFile: string;
  /** `-m`: run only this plugin on each event, no rsync. */
  readonly pluginOnly: PluginName | null;
  /** `--state-dir`: overrides `<state dir>`; null when not given. */
  readonly stateDir: string | null;
  /** `--log-file`, absolute; null: stderr, or a file in the state dir with `-d`. */
  readonly logFile: string | null;
  /** `--pid-file`, absolute; null: a file in the state dir with `-d`, none otherwise. */
  readonly pidFile: string | null;
}

/**
 * How long the daemon's writes wait for a queue lock held by another process: the wait freezes the
 * event loop (and with it the watches and the control socket), so it is short, and the lane tries
 * the batch again later.
 */
const DAEMON_BUSY_TIMEOUT_MS = 250;
/** How often the daemon looks for its control socket's file (see `keepStateFiles`). */
const STATE_FILES_CHECK_MS = 5000;
/** How long `watching` waits for the rsync thread's boot (~50–130 ms; longer only on a starved machine). */
const THREAD_READY_LIMIT_MS = 2000;

/** Runs until stopped; resolves to the process exit code. */
export async function runReplicator(config: Config, options: RunOptions): Promise<number> {
  // Before anything is created: a state directory in the tree would be replicated from its first file.
  refuseMisplacedOwnFiles(config, options);
  const stateDir = (): string => resolveStateDir(options.stateDir, config.stateDir);
  const stateFile = (kind: string, ext: string): string => stateFileFor(stateDir(), config.file, kind, ext);
  const daemonLog = options.logFile ?? (options.daemon ? stateFile('sersync2', 'log') : null);
  if (options.daemon && !isDaemonChild()) {
    const pid = await detach(daemonLog ?? stateFile('sersync2', 'log'));
    process.stdout.write(
      `daemon start, sersync2 runs in the background: pid ${pid}, log ${daemonLog ?? ''}\n`,
    );
    return 0;
  }
  // Full-sync progress bars on a terminal; log lines for the same terminal are written above them.
  const bars =
    process.stderr.isTTY && !isDaemonChild()
      ? new (await import('../sync/progress-bars.js')).ProgressBars(process.stderr)
      : null;
  const {
    logger: log,
    reopen,
    trouble: logTrouble,
  } = openLog({
    level: config.debug ? 'debug' : 'info',
    file: daemonLog,
    ...(bars === null ? {} : { terminal: (text: string) => bars.write(text) }),
  });
  process.on('SIGUSR1', reopen);
  const signals = new DaemonSignals();
  let control: ControlServer | null = null;
  let pid: { remove: () => void } | null = null;
  const writePid = (): { remove: () => void } | null => {
    const pidFile = options.pidFile ?? (options.daemon ? stateFile('sersync2', 'pid') : null);
    return pidFile === null ? null : writePidFile(pidFile);
  };
  const restoreStateFiles = (): void => {
    if (daemonLog !== null) reopen();
    if (pid !== null) pid = writePid();
  };
  try {
    if (options.pluginOnly !== null) {
      const name = options.pluginOnly;
      control = await ControlServer.claim(
        pluginControlSocketFile(stateDir(), config.file, name),
        config.file,
      );
      if (daemonLog !== null) control.onReopenLogs(reopen);
      pid = writePid();
      keepStateFiles(control, log, restoreStateFiles);
      await runPlugin(config, name, { log, logTrouble, signals, control });
    } else {
      // Before the pid file: a second instance, refused here, must leave the first one's pid file alone.
      control = await ControlServer.claim(controlSocketFile(stateDir(), config.file), config.file);
      if (daemonLog !== null) control.onReopenLogs(reopen);
      pid = writePid();
      keepStateFiles(control, log, restoreStateFiles);
      const progress = progressReporter(bars, log, daemonLog === null);
      await replicate(config, options, {
        log,
        logTrouble,
        signals,
        control,
        progress,
        stateDir: stateDir(),
      });
    }
    log.info('stopped');
    return 0;
  } catch (err) {
    reportStartup({ ok: false, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    pid?.remove();
    await control?.close();
    signals.dispose();
    log.flush();
  }
}

/**
 * The control socket put back when its file is removed while running (the state directory
 * deleted), with the files kept beside it (`restore`: the pid file, the log): else `status` says
 * that no sersync2 runs, and an init script finds no pid.
 */
function keepStateFiles(control: ControlServer, log: Logger, restore: () => void): void {
  control.keepPresent(
    STATE_FILES_CHECK_MS,
    () => {
      restore();
      log.warn(
        { socket: control.file },
        'the control socket was removed while running (its state directory deleted?): it is back, with the pid file and log',
      );
    },
    (err) => {
      log.error(
        { err, socket: control.file },
        'the control socket was removed while running and cannot be put back',
      );
    },
  );
}

/** sersync2's own files as this start names them (the default log and pid file are in the state directory). */
function ownFiles(config: Config, options: RunOptions): OwnFile[] {
  return [
    stateDirFile(options.stateDir, config.stateDir),
    ...(options.logFile === null
      ? []
      : [{ what: 'the log file', from: '--log-file', path: options.logFile }]),
    ...(options.pidFile === null
      ? []
      : [{ what: 'the pid file', from: '--pid-file', path: options.pidFile }]),
  ];
}

/**
 * A reload may not move the state directory (the queue and the control socket live there), nor
 * bring a tree or a local replica where sersync2's files are.
 */
function refuseReload(stateDir: string, next: Config, options: RunOptions): void {
  // The new config's is only asked about: a refused reload makes nothing where it points.
  const to = stateDirToAsk(options.stateDir, next.stateDir);
  if (to !== stateDir)
    throw new SersyncError(
      'ERR_SERSYNC_RELOAD',
      `the state directory would move from ${stateDir} to ${to}; a reload cannot move the queue, restart sersync2`,
    );
  refuseMisplacedOwnFiles(next, options);
}

function refuseMisplacedOwnFiles(config: Config, options: RunOptions): void {
  const problem = misplacedOwnFile(ownFiles(config, options), config.localpaths);
  if (problem !== null) throw new SersyncError('ERR_SERSYNC_OWN_FILE_PLACE', problem);
}

/** Console lines scripts grep for; in the background they go to the log. */
function sayTo(log: Logger): (line: string) => void {
  return isDaemonChild()
    ? (line) => {
        log.info(line);
      }
    : (line) => {
        process.stdout.write(`${line}\n`);
      };
}

/** Bars on a terminal; log lines every few seconds wherever the log is not that terminal. */
function progressReporter(bars: ProgressBars | null, log: Logger, logOnStderr: boolean): ProgressReporter {
  if (bars === null) return logProgress(log);
  return logOnStderr ? bars : teeProgress([bars, logProgress(log)]);
}

/** `-m`: only the plugin, on every event of its trees; no rsync. */
async function runPlugin(
  config: Config,
  name: PluginName,
  ctx: {
    readonly log: Logger;
    readonly logTrouble: () => LogTrouble | null;
    readonly signals: DaemonSignals;
    readonly control: ControlServer;
  },
): Promise<void> {
  const { log, signals, control } = ctx;
  const say = sayTo(log);
  prepareRoots(config, log);
  const startedAt = Date.now();
  const plugin = createPlugin(name, config.plugin, log);
  const feed = new PluginFeed(plugin, log);
  say(`start the ${name} plugin (no rsync)`);
  const roots = pluginRoots(config, plugin.name);
  const watch = await runPluginOnly(config, feed, roots, log, (root) => {
    say(`watch path is: ${root}`);
  });
  for (const [i, s] of watch.started.entries())
    say(
      `watching ${s.directories} directories under ${roots[i] ?? ''} in ${Math.round(s.readyMs)} ms (${s.backend})`,
    );
  control.handle((request) => {
    if (request.op !== 'status')
      throw new SersyncError(
        'ERR_SERSYNC_CONTROL',
        `this sersync2 (pid ${process.pid}) runs only the ${name} plugin (-m): it has no rsync to ${request.op}`,
      );
    return buildPluginOnlyStatus({
      pid: process.pid,
      version: packageVersion(),
      configFile: config.file,
      startedAt,
      now: Date.now(),
      plugin: feed.report(),
      trees: watch.status(),
      logTrouble: ctx.logTrouble(),
    });
  });
  reportStartup({ ok: true });
  signals.onReload(() => {
    log.warn('SIGHUP: reloading is not supported with -m; restart sersync2 to apply a changed config');
  });
  try {
    await signals.stopped;
  } finally {
    await watch.stop();
    await plugin.close();
  }
}

interface ReplicateContext {
  readonly log: Logger;
  readonly logTrouble: () => LogTrouble | null;
  readonly signals: DaemonSignals;
  readonly control: ControlServer;
  readonly progress: ProgressReporter;
  /** The state directory this process runs in. */
  readonly stateDir: string;
}

async function replicate(config: Config, options: RunOptions, ctx: ReplicateContext): Promise<void> {
  const { log, signals } = ctx;
  const say = sayTo(log);
  const pool = new RsyncPool(options.threads, ctx.progress);
  const rsync = new LaterRsyncCheck(
    (problem) => log.warn(problem),
    (why) => log.warn({ why }, 'could not look at the installed rsync: looking again later'),
  );
  const replicas = new ReplicaRecords();
  const service = new Service({
    control: ctx.control,
    pool,
    log,
    rsync: () => rsync.reported(),
    logTrouble: ctx.logTrouble,
    startEngine: (cfg, opts) =>
      startEngine(cfg, opts.fullSync, {
        pool,
        log,
        stateDirFlag: options.stateDir,
        say: opts.reload ? (line) => log.info(line) : say,
        reload: opts.reload,
        replicas,
      }),
    loadConfig: () => {
      const next = loadConfig(config.file);
      refuseReload(ctx.stateDir, next, options);
      return next;
    },
  });
  say('config xml parse success');
  if (options.fullSyncAtStart) announceFullSync(config, say, log);
  say('run the sersync: ');
  // Takes the rsync thread the command line started before the config was read (see
  // startRsyncPoolAhead), or starts it now: it boots on a core of its own while the watches are set.
  pool.start().catch((err: unknown) => {
    log.error({ err }, 'the rsync worker pool cannot start');
  });
  try {
    await service.start(config, options.fullSyncAtStart);
    reportStartup({ ok: true });
    rsync.start(RSYNC_CHECK_DELAY_MS);
    signals.onReload(() => {
      // Rejects only when not even the previous config could be started again.
      service.reload().catch((err: unknown) => {
        signals.fail(err instanceof Error ? err : new Error(String(err)));
      });
    });
    await signals.stopped;
    log.info('stopping: finishing the syncs in flight');
  } finally {
    await service.stop();
    await pool.close();
  }
}

interface EngineContext {
  readonly pool: RsyncPool;
  readonly log: Logger;
  readonly stateDirFlag: string | null;
  /** Console lines at start; log lines after a reload. */
  readonly say: (line: string) => void;
  /** A reload (or the return to the previous config after one failed): replication must go on. */
  readonly reload: boolean;
  /** The local replicas as the first engine found them (see `ReplicaRecords`). */
  readonly replicas: ReplicaRecords;
}

/** How long after the start the installed rsync is looked at (see LaterRsyncCheck). */
const RSYNC_CHECK_DELAY_MS = 10_000;

/** Everything that replicates one config: its queue, plugin, watchers and lanes, crontab. */
async function startEngine(config: Config, fullSync: boolean, ctx: EngineContext): Promise<Engine> {
  const { pool, log, say } = ctx;
  // <debug> at start and on every reload: the lanes' child loggers, made below, take this level.
  const level = config.debug ? 'debug' : 'info';
  if (log.level !== level) {
    log.level = level;
    log.info(`log level set to ${level} by <debug>`);
  }
  prepareRoots(config, log);
  prepareReplicas(config, ctx.replicas, log);
  const locks = await lockWatchRoots(
    config.localpaths.map((lp) => lp.watch),
    config.file,
  );
  for (const n of await nestedRoots(locks)) {
    const warning =
      `another sersync2 (pid ${n.holder.pid}, config ${n.holder.config}) watches ${n.holder.path}, ` +
      `${n.contains ? 'which contains' : 'inside'} ${n.root}: a change there is pushed by both ` +
      '(right only if they push to different remotes)';
    log.warn(warning);
    say(`WARNING: ${warning}`);
  }
  let queue: OpenedQueue;
  try {
    queue = openQueueForConfig(config, {
      stateDirFlag: ctx.stateDirFlag,
      log,
      busyTimeoutMs: DAEMON_BUSY_TIMEOUT_MS,
    });
  } catch (err) {
    await locks.release();
    throw err;
  }
  const store = queue.store;
  const plugin: Plugin | null =
    config.plugin.enabled && config.plugin.name !== null
      ? createPlugin(config.plugin.name, config.plugin, log)
      : null;
  const feed = plugin === null ? null : new PluginFeed(plugin, log);
  const roots = plugin === null ? [] : pluginRoots(config, plugin.name);
  const syncRoots = new Set(config.localpaths.map((lp) => lp.watch));
  const replicator = new Replicator({
    config,
    store,
    pool,
    log,
    plugin: feed === null ? null : { feed, roots: new Set(roots) },
    createWatcher: (opts) => createWatcher(config.fileSystem.watcher, opts),
    degradeAtLimit: ctx.reload,
    replicas: ctx.replicas,
  });
  const announce = (root: string): void => {
    say(`watch path is: ${root}`);
  };
  let stopPluginWatch = (): Promise<void> => Promise.resolve();
  let pluginTrees = (): TreeStatus[] => [];
  let crontab: Crontab | null = null;
  let verify: PeriodicVerify | null = null;
  const stop = async (): Promise<void> => {
    crontab?.stop();
    await verify?.stop();
    await stopPluginWatch();
    await replicator.stop();
    await plugin?.close();
    store.close();
    await locks.release();
  };
  try {
    for (const lp of config.localpaths) announce(lp.watch);
    const ownRoots = roots.filter((r) => !syncRoots.has(r));
    if (feed !== null && ownRoots.length > 0) {
      const own = await runPluginOnly(config, feed, ownRoots, log, announce);
      stopPluginWatch = () => own.stop();
      // in status and /metrics beside the sync trees: trees without remotes, whose pending
      // events are the plugin's
      pluginTrees = () => own.status().map((t) => ({ ...t, lanes: [] }));
    }
    const { warning } = describeWatcher(config.fileSystem.watcher);
    if (warning !== null) {
      log.warn(warning);
      say(`WARNING: ${warning}`);
    }
    const childStart = describeChildStart().note;
    if (childStart !== null) log.info(childStart);
    const watchStats = await replicator.start({ fullSync });
    // null: the pool cannot start, which replicate() reports where it starts it
    const booted = await pool.ready(THREAD_READY_LIMIT_MS).catch(() => null);
    if (booted === false)
      log.warn(`the rsync thread has not started within ${THREAD_READY_LIMIT_MS} ms; changes wait for it`);
    for (const [i, s] of watchStats.entries()) {
      say(
        `watching ${s.directories} directories under ${config.localpaths[i]?.watch ?? ''} in ${Math.round(s.readyMs)} ms (${s.backend})`,
      );
    }
    crontab = startCrontab(
      config.crontab,
      () => {
        replicator.resync();
      },
      log,
    );
    if (config.verify.enabled) {
      // Loaded only when <verify start="true">.
      verify = new (await import('../verify/periodic.js')).PeriodicVerify({
        config,
        outstanding: () => replicator.outstanding(),
        log,
        intervalMs: config.verify.scheduleMinutes * 60_000,
      });
      verify.start();
    }
    return {
      config,
      watchStats,
      status: () => [...replicator.status(), ...pluginTrees()],
      resync: (root) => {
        replicator.resync(root);
      },
      retriesByLane: () => store.retriesByLane(),
      failLogTrouble: queue.failLogTrouble,
      nextFullSyncAt: () => crontab?.nextRunAt() ?? null,
      outstanding: () => replicator.outstanding(),
      verifyStatus: () => verify?.status() ?? null,
      plugin: () => feed?.report() ?? null,
      repair: (root, remote, changes) => replicator.repair(root, remote, changes),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** sersync's `-r` banner, with the command of the first remote as it did. */
function announceFullSync(config: Config, say: (line: string) => void, log: Logger): void {
  if (config.filter.enabled && config.filter.excludes.length > 0) {
    log.info(
      '-r with the filter on: sersync skipped the full sync here; sersync2 runs it and applies the filter ' +
        '(excluded paths are neither sent nor deleted)',
    );
  }
  const lp = config.localpaths[0];
  const remote = lp?.remotes[0];
  if (lp === undefined || remote === undefined) return;
  const [task] = planRuns([{ kind: 'full', path: '' }], {
    config,
    root: lp.watch,
    remote,
    filter: filterSpecOf(config, lp.watch),
  });
  say('rsync the directory recursivly to the remote servers once');
  if (task !== undefined)
    say(`execute command: cd ${shellWord(task.cwd)} && rsync ${task.args.map(shellWord).join(' ')}`);
}

/**
 * Watched roots that do not exist yet are created (the shipped demo needs it). A mistyped `watch`
 * thus becomes an empty directory: a full sync with `--delete` from it is refused
 * (Lane.refusesFullDelete), so the replica is left as it is, and the error names it.
 */
function prepareRoots(config: Config, log: Logger): void {
  for (const { watch } of config.localpaths)
    if (mkdirSync(watch, { recursive: true }) !== undefined)
      log.warn({ dir: watch }, 'created a missing directory');
}

/**
 * Local replica directories: where no other user can point them elsewhere (see `ensureReplicaDir`:
 * root would write the tree there), created when missing; an unsafe one stops the start. At a reload,
 * one whose disk is away is left alone (see `ReplicaRecords`).
 */
function prepareReplicas(config: Config, replicas: ReplicaRecords, log: Logger): void {
  for (const dir of localReplicas(config.localpaths)) {
    const { created, away } = replicas.prepare(dir);
    if (created) log.warn({ dir }, 'created a missing directory');
    if (away !== null) log.warn({ dir }, away);
  }
}
