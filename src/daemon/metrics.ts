/**
 * `GET /metrics`: the status snapshot in the Prometheus text exposition format (version 0.0.4).
 * Written from the snapshot rather than kept in a metrics registry: every value already lives
 * in the replicator, so there is nothing to update as things happen.
 */
import { DEGRADED_REASONS } from '../sync/tree-watch.js';
import type { PluginReport } from '../plugins/feed.js';
import type { RemoteContact } from '../sync/replicator.js';
import type { DaemonStatus, LaneReport } from './status.js';
import type { LaneSummary } from '../verify/report.js';

/** The contacts with a remote that mean it takes no runs (see RemoteContact). */
const DOWN_REASONS = ['unreachable', 'runs-lost'] as const satisfies readonly RemoteContact[];

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  /** Samples; a null value (something that never happened) is left out. */
  readonly samples: readonly { readonly labels: Labels; readonly value: number | null }[];
}

export function renderMetrics(s: DaemonStatus): string {
  const perLane = (
    name: string,
    type: Family['type'],
    help: string,
    value: (l: LaneReport) => number | null,
  ): Family => ({
    name,
    type,
    help,
    samples: s.lanes.map((l) => ({ labels: { root: l.root, remote: l.remote }, value: value(l) })),
  });
  const perTree = (
    name: string,
    type: Family['type'],
    help: string,
    value: (t: (typeof s.trees)[number]) => number,
  ): Family => ({
    name,
    type,
    help,
    samples: s.trees.map((t) => ({ labels: { root: t.root }, value: value(t) })),
  });
  const single = (
    name: string,
    type: Family['type'],
    help: string,
    value: number | null,
    labels: Labels = {},
  ): Family => ({
    name,
    type,
    help,
    samples: [{ labels, value }],
  });
  const seconds = (ms: number | null): number | null => (ms === null ? null : ms / 1000);
  const families: Family[] = [
    single('sersync_info', 'gauge', 'Always 1; the labels say which version runs which config.', 1, {
      version: s.version,
      config: s.configFile,
    }),
    single(
      'sersync_start_time_seconds',
      'gauge',
      'When the daemon started (Unix time).',
      seconds(s.startedAt),
    ),
    single('sersync_reloads_total', 'counter', 'Config reloads (SIGHUP) that took effect.', s.reloads),
    single(
      'sersync_config_last_reload_successful',
      'gauge',
      '0 while the last reload (SIGHUP) was refused: the config file on disk is not the one running.',
      s.reloadRefused === null ? 1 : 0,
    ),
    single(
      'sersync_rsync_problem',
      'gauge',
      '1 while rsync cannot be started (not installed, or sersync2 out of file descriptors or processes: every sync fails), or when the installed one is older than 3.5 (it may follow a symlink planted in the tree) on runs not confined to the tree; the version is looked at 10 s after the start.',
      s.rsyncProblem === null && s.pool.cannotStart === null ? 0 : 1,
    ),
    single(
      'sersync_rsync_reads_confined',
      'gauge',
      "1 when every rsync run reads only its tree and the system's files (Landlock), so no symlink planted in the tree brings a file from outside; 0 when some runs are not confined (over ssh, or no Landlock); looked at 10 s after the start.",
      s.rsync === null ? null : s.rsync.confined ? 1 : 0,
    ),
    perTree(
      'sersync_tree_watching',
      'gauge',
      '1 while every change in the tree is seen; 0 while the tree, or part of it, is not watched.',
      (t) => (t.watching ? 1 : 0),
    ),
    {
      name: 'sersync_tree_degraded',
      type: 'gauge',
      help: '1 while the tree is degraded for this reason (see docs/operations.md, Failure modes and alerts).',
      samples: s.trees.flatMap((t) =>
        DEGRADED_REASONS.map((reason) => ({
          labels: { root: t.root, reason },
          value: t.degraded.includes(reason) ? 1 : 0,
        })),
      ),
    },
    perTree(
      'sersync_tree_unwatched_directories',
      'gauge',
      'Directories without a watch (the inotify watch limit); synced whole now and then meanwhile.',
      (t) => t.unwatchedDirectories,
    ),
    perTree(
      'sersync_tree_shared_file_systems',
      'gauge',
      "File systems of the tree other hosts (or their own daemon) can write: NFS, SMB, FUSE…; their changes give no event here, only a full sync brings them ('' in status is the root's own).",
      (t) => t.sharedFileSystems.length,
    ),
    perTree(
      'sersync_watcher_restarts_total',
      'counter',
      'Watchers replaced after they failed.',
      (t) => t.watcherRestarts,
    ),
    perTree(
      'sersync_tree_root_switches_total',
      'counter',
      'Times a watch path named as a symlink pointed to another directory.',
      (t) => t.rootSwitches,
    ),
    perTree(
      'sersync_tree_watched_directories',
      'gauge',
      'Directories watched (one inotify watch each).',
      (t) => t.directories,
    ),
    perTree('sersync_tree_events_total', 'counter', 'Watch events seen.', (t) => t.events),
    perLane(
      'sersync_oldest_unsynced_change_age_seconds',
      'gauge',
      'Age of the oldest change of the tree not yet on the remote (pending, in flight or queued for retry); 0 when none.',
      (l) => l.lagSeconds,
    ),
    {
      name: 'sersync_replication_lag_seconds',
      type: 'gauge',
      help: 'Replication lag: age of the oldest change not yet on the remote, over its trees; 0 when none.',
      samples: s.remotes.map((r) => ({ labels: { remote: r.remote }, value: r.lagSeconds })),
    },
    {
      name: 'sersync_remote_down',
      type: 'gauge',
      help: '1 while the remote does not take runs for this reason: unreachable (probed until it answers), or runs-lost (its port answers but every run is lost: closed unsaid or stalled; left to the retry interval).',
      samples: s.lanes.flatMap((l) =>
        DOWN_REASONS.map((reason) => ({
          labels: { root: l.root, remote: l.remote, reason },
          value: l.contact === reason ? 1 : 0,
        })),
      ),
    },
    perLane('sersync_pending_operations', 'gauge', 'Operations waiting to be sent.', (l) => l.pending),
    perLane(
      'sersync_files_awaiting_close',
      'gauge',
      'Files whose writer has not closed them: sent when it does, or once they stay unchanged (part of pending).',
      (l) => l.awaitingClose,
    ),
    perLane(
      'sersync_files_delayed_by_name',
      'gauge',
      'Files whose temporary-looking name delays them: sent if they stay unchanged for 2 s (part of pending).',
      (l) => l.delayedByName,
    ),
    perLane('sersync_batches_in_flight', 'gauge', '1 while a batch is being sent.', (l) =>
      l.inFlight ? 1 : 0,
    ),
    perLane(
      'sersync_retry_queue_operations',
      'gauge',
      'Failed operations waiting for a retry.',
      (l) => l.queuedRetries,
    ),
    perLane('sersync_batches_total', 'counter', 'Batches sent, successful or not.', (l) => l.batches),
    perLane(
      'sersync_failed_batches_total',
      'counter',
      'Batches that failed and were queued for retry.',
      (l) => l.failedBatches,
    ),
    perLane('sersync_rsync_runs_total', 'counter', 'rsync processes run.', (l) => l.rsyncRuns),
    perLane(
      'sersync_files_sent_total',
      'counter',
      'Files rsync transferred (from --stats).',
      (l) => l.filesSent,
    ),
    perLane('sersync_sent_bytes_total', 'counter', 'Bytes rsync sent (from --stats).', (l) => l.bytesSent),
    perLane(
      'sersync_daemon_refused_total',
      'counter',
      "Files and directories the remote's rsync daemon refused to receive (its module's exclude or filter): not on the replica, by its policy.",
      (l) => l.daemonRefused,
    ),
    perLane(
      'sersync_prune_refused_total',
      'counter',
      "New directories sent whole whose prune the remote's rsync daemon refused (its refuse options): what their copies hold that the source has not may stay on the replica.",
      (l) => l.pruneRefused,
    ),
    perLane(
      'sersync_daemon_busy_total',
      'counter',
      "rsync runs the remote's rsync daemon refused as busy (its module's max connections taken); each went again after a short wait, then to the retry queue.",
      (l) => l.daemonBusy,
    ),
    perLane(
      'sersync_full_sync_seconds_window',
      'gauge',
      '1 while the remote takes full syncs only comparing modification times to the second (its rsync is older than 3.1.3, or its daemon refuses --modify-window): a file rewritten at the same size within the second of its copy is missed.',
      (l) => (l.fullSyncWindow?.window === 'second' ? 1 : 0),
    ),
    perLane(
      'sersync_full_sync_removals_refused',
      'gauge',
      "1 while the remote's rsync daemon refuses --delete (its refuse options) and full syncs go without it: what was removed from the tree while sersync2 was stopped stays on the replica.",
      (l) => (l.fullSyncRemovals?.refused === true ? 1 : 0),
    ),
    perLane(
      'sersync_last_success_timestamp_seconds',
      'gauge',
      'When a batch last succeeded (Unix time).',
      (l) => seconds(l.lastSuccessAt),
    ),
    perLane('sersync_last_failure_timestamp_seconds', 'gauge', 'When a batch last failed (Unix time).', (l) =>
      seconds(l.lastFailureAt),
    ),
    perLane(
      'sersync_last_full_sync_timestamp_seconds',
      'gauge',
      'When a full sync last succeeded (Unix time).',
      (l) => seconds(l.lastFullSyncAt),
    ),
    single('sersync_rsync_running', 'gauge', 'rsync processes running now.', s.pool.inFlight),
    single(
      'sersync_rsync_max_concurrent',
      'gauge',
      'Most rsync processes run at once (-n).',
      s.pool.maxConcurrent,
    ),
    single(
      'sersync_rsync_started_total',
      'counter',
      'rsync processes started, over every tree and remote.',
      s.pool.started,
    ),
    single(
      'sersync_next_full_sync_timestamp_seconds',
      'gauge',
      'When the crontab runs the next full sync (Unix time).',
      seconds(s.fullSync.nextAt),
    ),
    single(
      'sersync_queue_write_failing',
      'gauge',
      '1 while batches cannot be recorded in the retry queue (locked, disk full): their changes wait in memory.',
      s.queueWriteFailure === null ? 0 : 1,
    ),
    single(
      'sersync_log_write_failing',
      'gauge',
      '1 while the log cannot be written (the disk of its file, or of the file stderr is sent to, full): replication goes on, the lines wait in memory (16 MiB at most, then they are dropped).',
      s.logWriteFailure === null ? 0 : 1,
    ),
    single(
      'sersync_fail_log_write_failing',
      'gauge',
      "1 while sersync's fail log (<failLog path>) is not written from the retry queue (its disk full, its directory missing or unsafe): the queue itself is unaffected.",
      s.failLogWriteFailure === null ? 0 : 1,
    ),
    single(
      'sersync_queue_orphaned_retries',
      'gauge',
      'Retry rows of trees or remotes no longer in the config: never sent (sersync2 queue shows them).',
      s.orphanedRetries.reduce((n, o) => n + o.count, 0),
    ),
    ...verifyFamilies(s),
    ...pluginFamilies(s.plugin),
  ];
  return families.map(renderFamily).join('');
}

/** The periodic verify's last result (only when `<verify start="true">`). */
function verifyFamilies(s: DaemonStatus): Family[] {
  const v = s.verify;
  if (v === null) return [];
  // Only the lanes the last verify compared: one it could not reach has no figure to give.
  const perCompared = (name: string, help: string, value: (l: LaneSummary) => number): Family => ({
    name,
    type: 'gauge',
    help,
    samples: v.lanes
      .filter((l) => l.error === null)
      .map((l) => ({ labels: { root: l.root, remote: l.remote }, value: value(l) })),
  });
  return [
    perCompared(
      'sersync_verify_drift_paths',
      'Paths that differed between the tree and the replica at the last periodic verify.',
      (l) => l.driftPaths,
    ),
    perCompared(
      'sersync_verify_seconds_window',
      'At the last periodic verify: 1 where the remote refused the nanosecond window and was compared to the second (its rsync is older than 3.1.3, or its daemon refuses --modify-window): a file rewritten at the same size within the second of its copy is not found.',
      (l) => (l.toTheSecond ? 1 : 0),
    ),
    perCompared(
      'sersync_verify_extras_unlisted',
      'At the last periodic verify: 1 where what only the replica has could not be listed (its daemon refuses --delete): missing and differing files were compared, extra ones were not looked for.',
      (l) => (l.extrasNotListed ? 1 : 0),
    ),
    {
      name: 'sersync_verify_last_success_timestamp_seconds',
      type: 'gauge',
      help: 'When a periodic verify last compared every tree with every remote (Unix time).',
      samples: [{ labels: {}, value: v.lastSuccessAt === null ? null : v.lastSuccessAt / 1000 }],
    },
  ];
}

/** The plugin of `<plugin start="true">` (only when there is one); labelled with its name. */
function pluginFamilies(p: PluginReport | null): Family[] {
  if (p === null) return [];
  const one = (name: string, type: Family['type'], help: string, value: number | null): Family => ({
    name,
    type,
    help,
    samples: [{ labels: { plugin: p.name }, value }],
  });
  return [
    one('sersync_plugin_delivered_total', 'counter', 'Events the plugin delivered.', p.delivered),
    one(
      'sersync_plugin_failed_total',
      'counter',
      'Events the plugin gave up on after its retries, or dropped.',
      p.failed,
    ),
    one(
      'sersync_plugin_failing',
      'gauge',
      '1 while the plugin fails: its last attempt failed, or its peer cannot be reached.',
      p.failing ? 1 : 0,
    ),
    one('sersync_plugin_pending_events', 'gauge', 'Events waiting to be delivered by the plugin.', p.pending),
    one(
      'sersync_plugin_overflows_total',
      'counter',
      'Inotify queue overflows in trees the plugin is told about: the changes lost never reach it.',
      p.overflows,
    ),
    one(
      'sersync_plugin_withheld_total',
      'counter',
      "Events not handed to the plugin because their tree's root was replaced: it never hears of them.",
      p.withheld,
    ),
    one(
      'sersync_plugin_last_success_timestamp_seconds',
      'gauge',
      'When the plugin last delivered an event (Unix time).',
      p.lastSuccessAt === null ? null : p.lastSuccessAt / 1000,
    ),
    one(
      'sersync_plugin_last_failure_timestamp_seconds',
      'gauge',
      'When the plugin last failed (Unix time).',
      p.lastFailureAt === null ? null : p.lastFailureAt / 1000,
    ),
  ];
}

function renderFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`];
  for (const { labels, value } of f.samples) {
    if (value === null) continue;
    const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    lines.push(`${f.name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${String(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
