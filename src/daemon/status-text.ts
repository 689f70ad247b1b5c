/** `sersync2 status` for people: a few summary lines and two compact tables. */
import { printable } from '../printable.js';
import { SHARED_FILE_SYSTEM_EFFECT } from '../watch/mounts.js';
import { formatDuration } from '../queue/present.js';
import type { LogTrouble } from '../log/logger.js';
import type { VerifyStatus } from '../verify/periodic.js';
import type { PluginReport } from '../plugins/feed.js';
import { MAX_UNCLOSED_SETTLE_MS } from '../filter/unclosed-files.js';
import { UNSAID_CLOSE } from '../sync/exit-codes.js';
import type { DaemonStatus, LaneReport, PluginOnlyStatus, RemoteReport, TreeReport } from './status.js';

export function statusText(s: DaemonStatus): string {
  const ago = (at: number | null): string => (at === null ? '-' : `${formatDuration(s.now - at)} ago`);
  const reloaded =
    s.reloads === 0 ? '' : `, reloaded ${plural(s.reloads, 'time')} (last ${ago(s.lastReloadAt)})`;
  const next =
    s.fullSync.nextAt === null ? 'no crontab' : `next in ${formatDuration(s.fullSync.nextAt - s.now)}`;
  const summary = [
    `sersync2 ${s.version}, pid ${s.pid}, up ${formatDuration(s.uptimeSeconds * 1000)}${reloaded}`,
    `config:    ${s.configFile}`,
    `rsync:     ${s.pool.inFlight} of ${s.pool.maxConcurrent} running, ${s.pool.started} started${rsyncLine(s)}`,
    `full sync: last ${s.fullSync.lastAt === null ? 'never' : ago(s.fullSync.lastAt)}, ${next}`,
    ...(s.verify === null ? [] : [verifyLine(s.verify, ago)]),
    ...(s.plugin === null ? [] : [pluginLine(s.plugin, ago)]),
  ];
  const remotes = table(
    [
      'REMOTE',
      'IN FLIGHT',
      'PENDING',
      'RETRIES',
      'RSYNC RUNS',
      'FILES',
      'SENT',
      'LAG',
      'LAST SUCCESS',
      'LAST FAILURE',
    ],
    s.remotes.map((r) => {
      const error = r.lastError === null ? '' : `: ${printable(r.lastError)}`;
      const failure = r.lastFailureAt === null ? '-' : `${ago(r.lastFailureAt)}${error}`;
      return [
        r.remote,
        String(r.inFlight),
        String(r.pending),
        String(r.queuedRetries),
        String(r.rsyncRuns),
        String(r.filesSent),
        formatBytes(r.bytesSent),
        r.lagSeconds === 0 ? '-' : formatDuration(r.lagSeconds * 1000),
        ago(r.lastSuccessAt),
        failure, // the last column: whole, since the end says why (`… Connection refused (111)`)
      ];
    }),
  );
  const queue =
    s.queueWriteFailure === null
      ? ''
      : `! the retry queue CANNOT BE WRITTEN (since ${ago(s.queueWriteFailure.since)}): ${printable(s.queueWriteFailure.error)}\n`;
  const logFile = logTroubleText(s.logWriteFailure, ago);
  const failLog =
    s.failLogWriteFailure === null
      ? ''
      : `! the fail log ${printable(s.failLogWriteFailure.file)} is not written (since ${ago(s.failLogWriteFailure.since)}): ${printable(s.failLogWriteFailure.error)}; the retry queue is unaffected\n`;
  const reload =
    s.reloadRefused === null
      ? ''
      : `! the last reload was refused (${ago(s.reloadRefused.at)}): ${printable(s.reloadRefused.error)}; the config running is the one before it\n`;
  const refused = s.pool.cannotStart;
  const rsync =
    (refused === null
      ? ''
      : `! ${printable(refused.why)} (every run since ${ago(refused.since)}: ${plural(refused.runs, 'run')}); the changes wait and go once rsync starts again\n`) +
    (s.rsyncProblem === null ? '' : `! ${printable(s.rsyncProblem)}\n`);
  const orphans = s.orphanedRetries
    .map(
      (o) =>
        `! ${o.count} queued retries of ${printable(o.root)} -> ${printable(o.remoteId)}, which the config no longer has, are not sent: \`sersync2 queue list --remote ${printable(o.remoteId)}\` shows them; drop them, or put the remote back\n`,
    )
    .join('');
  return `${summary.join('\n')}\n${reload}${rsync}${queue}${logFile}${failLog}${orphans}${contactText(s.remotes)}${unclosedText(s.lanes, s.now)}${pluginProblems(s.plugin, ago)}${remoteNotesText(s.remotes, ago)}\n${treesText(s.trees, ago)}\n${remotes}`;
}

/** A remote that does not take runs: its table row has the last error; this says what is done meanwhile. */
function contactText(remotes: readonly RemoteReport[]): string {
  return remotes
    .map((r) =>
      r.contact === 'unreachable'
        ? `! ${printable(r.remote)} is UNREACHABLE: its work waits in the retry queue, and goes as soon as a probe finds it answering\n`
        : r.contact === 'runs-lost'
          ? `! ${printable(r.remote)} answers, but LOSES EVERY RUN (closed unsaid: ${UNSAID_CLOSE}; or stalled: LAST FAILURE says which): its work waits for the retry interval\n`
          : '',
    )
    .join('');
}

/**
 * Not faults (the daemon's own policy, or its rsync's limit), but what is not on the replica, stays
 * on it, or may be missed there must be said.
 */
function remoteNotesText(remotes: readonly RemoteReport[], ago: (at: number | null) => string): string {
  return remotes
    .flatMap((r) => {
      const excluded = r.lastDaemonRefused;
      const unpruned = r.lastPruneRefused;
      return [
        r.daemonRefused === 0 || excluded === null
          ? ''
          : `note: ${printable(r.remote)} refused to receive ${plural(r.daemonRefused, 'file')} its module excludes (rsyncd.conf exclude or filter; the last "${printable(excluded.path)}", ${ago(excluded.at)}): not on it, by its policy\n`,
        r.pruneRefused === 0 || unpruned === null
          ? ''
          : `note: ${printable(r.remote)} refuses removals (rsyncd.conf refuse options): ${plural(r.pruneRefused, 'new directory', 'new directories')} sent whole not pruned (the last "${printable(unpruned.path)}", ${ago(unpruned.at)}): what their copies hold that the source has not stays on it\n`,
        r.daemonBusy === 0 || r.lastDaemonBusy === null
          ? ''
          : `note: ${printable(r.remote)} refused ${plural(r.daemonBusy, 'rsync run')} as busy (rsyncd.conf max connections = ${r.lastDaemonBusy.limit}; the last ${ago(r.lastDaemonBusy.at)}): each went again after a short wait, then by the retry queue; a limit above sersync2's rsync threads (-n) avoids the wait\n`,
        r.fullSyncWindow?.window !== 'second'
          ? ''
          : `note: ${printable(r.remote)} compares modification times to the second (it refuses the nanosecond window: rsync older than 3.1.3, or refuse options; the last full sync ${ago(r.fullSyncWindow.at)}): a full sync or verify misses a file rewritten at the same size within the second of its copy\n`,
        r.fullSyncRemovals?.refused !== true
          ? ''
          : `note: ${printable(r.remote)} refuses removals (rsyncd.conf refuse options): full syncs go without --delete (the last ${ago(r.fullSyncRemovals.at)}): what was removed from the tree while sersync2 was stopped stays on it\n`,
      ];
    })
    .join('');
}

/**
 * A file held for its writer's close for over a minute (see UnclosedFiles): written without pause,
 * or big and waiting between sends; it stays behind on the replica while that lasts.
 */
function unclosedText(lanes: readonly LaneReport[], now: number): string {
  const files = new Map<string, { since: number; remotes: string[] }>();
  for (const l of lanes) {
    const held = l.longestAwaitingClose;
    if (held === null || now - held.since <= MAX_UNCLOSED_SETTLE_MS) continue;
    const file = `${l.root.replace(/\/$/, '')}/${held.path}`;
    const seen = files.get(file) ?? { since: held.since, remotes: [] };
    seen.since = Math.min(seen.since, held.since);
    seen.remotes.push(l.remote);
    files.set(file, seen);
  }
  return [...files]
    .map(
      ([file, { since, remotes }]) =>
        `! ${printable(file)} is kept open and written by its writer (for ${formatDuration(now - since)}; not on ${remotes.map(printable).join(', ')} meanwhile): it is sent once it stays unchanged for a while, or is closed; turn <modify> on to send it as it grows, or exclude it\n`,
    )
    .join('');
}

/** `sersync2 status` of a `sersync2 -m PLUGIN`: its trees, no remotes. */
export function pluginOnlyStatusText(s: PluginOnlyStatus): string {
  const ago = (at: number | null): string => (at === null ? '-' : `${formatDuration(s.now - at)} ago`);
  const summary = [
    `sersync2 ${s.version}, pid ${s.pid}, up ${formatDuration(s.uptimeSeconds * 1000)}`,
    `config:    ${s.configFile}`,
    `mode:      -m ${s.plugin.name}: each event to the ${s.plugin.name} plugin, no rsync`,
    pluginLine(s.plugin, ago),
  ];
  return `${summary.join('\n')}\n${logTroubleText(s.logWriteFailure, ago)}${pluginProblems(s.plugin, ago)}\n${treesText(s.trees, ago)}`;
}

/** The `!` line while the log cannot be written; '' while it can. */
function logTroubleText(t: LogTrouble | null, ago: (at: number | null) => string): string {
  if (t === null) return '';
  const dropped = t.dropped > 0 ? `, ${plural(t.dropped, 'line')} of the log dropped` : '';
  return `! the log CANNOT BE WRITTEN (since ${ago(t.since)}): ${printable(t.error)}; replication goes on${dropped}\n`;
}

/** What the plugin has done: `plugin:    http: 120 delivered, 0 failed, 3 pending`. */
function pluginLine(p: PluginReport, ago: (at: number | null) => string): string {
  const failure = p.lastFailureAt === null ? '' : ` (last ${ago(p.lastFailureAt)})`;
  return `plugin:    ${p.name}: ${p.delivered} delivered, ${p.failed} failed${failure}, ${p.pending} pending`;
}

/** The lines an operator must act on: a plugin failing now, changes it was never told of. */
function pluginProblems(p: PluginReport | null, ago: (at: number | null) => string): string {
  if (p === null) return '';
  const lines: string[] = [];
  if (p.failing)
    lines.push(
      `! the ${p.name} plugin is FAILING: its last attempt failed ${ago(p.lastFailureAt)}: ${printable(p.lastError ?? '')}`,
    );
  if (p.overflows > 0)
    lines.push(
      `! the kernel dropped events ${plural(p.overflows, 'time')} (last ${ago(p.lastOverflowAt)}): the ${p.name} plugin was never told of those changes`,
    );
  if (p.withheld > 0)
    lines.push(
      `! ${plural(p.withheld, 'event')} withheld from the ${p.name} plugin (last ${ago(p.lastWithheldAt)}): their tree's root was replaced, so their paths led outside the tree`,
    );
  return lines.map((l) => `${l}\n`).join('');
}

/** The trees' table, then a line for each thing an operator must know. */
function treesText(trees: readonly TreeReport[], ago: (at: number | null) => string): string {
  const rows = table(
    ['TREE', 'WATCHING', 'DIRECTORIES', 'EVENTS', 'PENDING', 'DEGRADED'],
    trees.map((t) => [
      printable(t.root),
      t.watching ? 'yes' : t.watcher === null ? 'NO' : 'PARTLY',
      String(t.directories),
      String(t.events),
      String(t.pending),
      t.degraded.length === 0 ? '-' : t.degraded.join(','),
    ]),
  );
  const problems = trees.flatMap((t) => explain(t, ago));
  return problems.length === 0 ? rows : `${rows}\n${problems.join('\n')}\n`;
}

/** One line per thing an operator must know about a tree: what is not replicated, and what to do. */
function explain(t: TreeReport, ago: (at: number | null) => string): string[] {
  const root = printable(t.root);
  const gaps = (reason: string): string =>
    t.gaps
      .filter((g) => g.reason === reason)
      .map((g) => printable(g.path))
      .join(', ');
  const lines = t.degraded.map((reason) => {
    switch (reason) {
      case 'root-gone':
        return `${root}: the watched directory is missing; nothing is sent until it is back`;
      case 'root-replaced':
        return `${root}: the watched directory was replaced (a symlink, or another owner's directory); nothing is sent`;
      case 'unmounted':
        return `${root}: a file system in the tree is unmounted${gaps('unmounted') === '' ? ' (the root)' : ` (${gaps('unmounted')})`}; its content is not replicated until it is mounted again`;
      case 'watcher-restarting':
        return `${root}: the watcher failed and is being restarted`;
      case 'watch-limit':
        return `${root}: ${t.unwatchedDirectories} directories not watched (inotify watch limit: raise fs.inotify.max_user_watches), sent whole now and then: ${gaps('watch-limit')}`;
      case 'unwatchable':
        return `${root}: directories that cannot be watched, their changes missed until they can be: ${t.gaps
          .filter((g) => g.reason === 'unwatchable')
          .map((g) => `${printable(g.path)} (${g.why ?? 'unknown'})`)
          .join(', ')}`;
      case 'fallback-watcher':
        return `${root}: the chokidar fallback watches (the native inotify binding is not built): renames are not paired, files written into a new directory at once can be missed, lost events are not noticed`;
    }
  });
  if (t.sharedFileSystems.length > 0)
    lines.push(
      `${root}: on ${t.sharedFileSystems
        .map((m) => (m.path === '' ? m.fstype : `${m.fstype} at ${printable(m.path)}`))
        .join(', ')}, ${SHARED_FILE_SYSTEM_EFFECT}`,
    );
  if (t.watcherRestarts > 0)
    lines.push(
      `${root}: watcher restarted ${plural(t.watcherRestarts, 'time')} (last ${ago(t.lastWatcherRestart?.at ?? null)}: ${printable(t.lastWatcherRestart?.reason ?? '')})`,
    );
  if (t.rootSwitches > 0)
    lines.push(
      `${root}: the symlink switched ${plural(t.rootSwitches, 'time')}; now ${printable(t.resolvedRoot ?? '')}`,
    );
  return lines.map((l) => `! ${l}`);
}

/** The periodic verify (`<verify start="true">`): when, and how many paths differed. */
function verifyLine(v: VerifyStatus, ago: (at: number | null) => string): string {
  if (v.lastRunAt === null) return 'verify:    not run yet';
  const drift = v.lanes.reduce((n, l) => n + l.driftPaths, 0);
  const failed = v.lanes.filter((l) => l.error !== null).length;
  const coarse = v.lanes.filter((l) => l.toTheSecond).length;
  const unlisted = v.lanes.filter((l) => l.extrasNotListed).length;
  const outcome = [
    drift === 0 ? 'replicas equal' : `${plural(drift, 'path')} DIFFER (sersync2 verify lists them)`,
    ...(failed === 0 ? [] : [`${failed} not compared`]),
    ...(coarse === 0 ? [] : [`${coarse} compared to the second (the remote refuses the nanosecond window)`]),
    ...(unlisted === 0
      ? []
      : [`${unlisted} not listing what only the replica has (its daemon refuses --delete)`]),
  ];
  return `verify:    last ${ago(v.lastRunAt)}: ${outcome.join(', ')}`;
}

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

/** `512 B`, `1.5 KiB`, `3.2 GiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

/** The installed rsync and whether its reads are confined to the tree, once looked at. */
function rsyncLine(s: DaemonStatus): string {
  const r = s.rsync;
  if (r === null) return '';
  const reads =
    r.unavailable !== null ? `reads not confined: ${r.unavailable}` : 'reads confined to the tree';
  return `; ${r.version ?? 'not found'}, ${printable(reads)}`;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
