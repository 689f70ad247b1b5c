/** The status snapshot: per tree, per lane, per remote; counters kept over reloads; the human table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addRun,
  buildPluginOnlyStatus,
  buildStatus,
  pluginWithPast,
  withPast,
} from '../../src/daemon/status.js';
import { renderMetrics } from '../../src/daemon/metrics.js';
import { formatBytes, pluginOnlyStatusText, statusText } from '../../src/daemon/status-text.js';
import type { RemoteContact, TreeStatus } from '../../src/sync/replicator.js';
import { parsePrometheusText } from './prometheus-text.js';
import type { RsyncReport } from '../../src/sync/rsync-version.js';
import { failingPlugin, imgTree, inputs, stats, T, trees, watched } from './status-fixture.js';

test('status: trees sum their lanes, lanes carry their retries, remotes add up over trees', () => {
  const s = buildStatus(inputs());
  assert.equal(s.uptimeSeconds, 3723);
  assert.deepEqual(
    s.trees.map((t) => [t.root, t.watching, t.directories, t.events, t.pending, t.degraded]),
    [
      ['/srv/www', true, 12, 40, 2, []],
      ['/srv/img', false, 0, 7, 3, ['root-gone']],
    ],
  );
  assert.deepEqual(
    s.lanes.map((l) => [l.root, l.remote, l.inFlight, l.queuedRetries, l.lagSeconds]),
    [
      ['/srv/www', 'A::m', true, 1, 3],
      ['/srv/img', 'A::m', false, 0, 0],
      ['/srv/img', 'B::m', false, 17, 120],
    ],
    'the lag is the age of the oldest change pending, in flight or queued for retry',
  );
  assert.deepEqual(s.remotes, [
    {
      remote: 'A::m',
      trees: ['/srv/www', '/srv/img'],
      inFlight: 1,
      pending: 2,
      queuedRetries: 1,
      batches: 7,
      failedBatches: 0,
      rsyncRuns: 8,
      filesSent: 34,
      bytesSent: 3100,
      lastSuccessAt: T - 1000,
      lastFailureAt: T - 90_000,
      lastError: 'old failure',
      lagSeconds: 3,
      daemonRefused: 0,
      lastDaemonRefused: null,
      pruneRefused: 0,
      lastPruneRefused: null,
      daemonBusy: 0,
      lastDaemonBusy: null,
      fullSyncWindow: null,
      fullSyncRemovals: null,
      contact: 'answering',
    },
    {
      remote: 'B::m',
      trees: ['/srv/img'],
      inFlight: 0,
      pending: 3,
      queuedRetries: 17,
      batches: 4,
      failedBatches: 4,
      rsyncRuns: 4,
      filesSent: 0,
      bytesSent: 0,
      lastSuccessAt: null,
      lastFailureAt: T - 2000,
      lastError: 'refused',
      lagSeconds: 120,
      daemonRefused: 0,
      lastDaemonRefused: null,
      pruneRefused: 0,
      lastPruneRefused: null,
      daemonBusy: 0,
      lastDaemonBusy: null,
      fullSyncWindow: null,
      fullSyncRemovals: null,
      contact: 'answering',
    },
  ]);
  assert.deepEqual(s.fullSync, { lastAt: T - 60_000, nextAt: T + 600_000 });
  assert.deepEqual(s.pool, { inFlight: 1, maxConcurrent: 10, started: 12, cannotStart: null });
});

test('status: counters of replicators ended by reloads are added; live values are not', () => {
  const ended = trees();
  const past = addRun([], ended);
  const fresh: TreeStatus[] = [
    {
      root: '/srv/www',
      ...watched({ directories: 13 }),
      events: 1,
      pending: 0,
      lanes: [
        {
          remote: 'A::m',
          pending: 0,
          busy: false,
          oldestChangeAt: null,
          contact: 'answering',
          ...stats({ batches: 1, lastFailureAt: T, lastError: 'new' }),
        },
      ],
    },
    { root: '/srv/new', ...watched(), events: 0, pending: 0, lanes: [] },
  ];
  const now = withPast(fresh, past);
  assert.equal(now.length, 2, 'a tree dropped by the reload is not shown');
  const www = now.find((t) => t.root === '/srv/www');
  assert.ok(www !== undefined);
  assert.equal(www.events, 41);
  assert.equal(www.directories, 13);
  const [lane] = www.lanes;
  assert.ok(lane !== undefined);
  assert.equal(lane.batches, 6);
  assert.equal(lane.busy, false);
  assert.equal(lane.lastSuccessAt, T - 5000);
  assert.equal(lane.lastError, 'new', 'the latest failure wins');
  assert.deepEqual(
    now.find((t) => t.root === '/srv/new'),
    fresh[1],
  );

  const twice = addRun(past, fresh);
  assert.deepEqual(
    twice.map((t) => [t.root, t.events, t.lanes.map((l) => `${l.remote}:${l.batches}`)]),
    [
      ['/srv/www', 41, ['A::m:6']],
      ['/srv/new', 0, []],
      ['/srv/img', 7, ['A::m:2', 'B::m:4']],
    ],
    'what the second run did not have is kept for when it comes back',
  );
});

test('status: the human output has the summary and one line per tree and per remote', () => {
  const text = statusText(buildStatus(inputs({ reloads: 2, lastReloadAt: T - 65_000 })));
  const lines = text.split('\n');
  assert.equal(lines[0], 'sersync2 9.9.9, pid 4242, up 1h02m, reloaded 2 times (last 1m05s ago)');
  assert.ok(lines.includes('config:    /etc/sersync2/confxml.xml'));
  assert.ok(lines.includes('rsync:     1 of 10 running, 12 started'));
  assert.ok(lines.includes('full sync: last 1m00s ago, next in 10m00s'));
  const row = (first: string): string[] => (lines.find((l) => l.startsWith(first)) ?? '').split(/\s{2,}/);
  assert.deepEqual(row('TREE'), ['TREE', 'WATCHING', 'DIRECTORIES', 'EVENTS', 'PENDING', 'DEGRADED']);
  assert.deepEqual(row('/srv/img'), ['/srv/img', 'NO', '0', '7', '3', 'root-gone']);
  assert.deepEqual(row('/srv/www'), ['/srv/www', 'yes', '12', '40', '2', '-']);
  assert.ok(lines.includes('! /srv/img: the watched directory is missing; nothing is sent until it is back'));
  assert.deepEqual(row('B::m'), ['B::m', '0', '3', '17', '4', '0', '0 B', '2m00s', '-', '2s ago: refused']);
  assert.deepEqual(row('A::m').slice(6, 9), ['3.0 KiB', '3s', '1s ago']);
});

test('status: a failing plugin, and events it was never told of, are said while they last', () => {
  const text = statusText(buildStatus(inputs({ plugin: failingPlugin() })));
  const lines = text.split('\n');
  assert.ok(lines.includes('plugin:    refreshCDN: 120 delivered, 3 failed (last 2s ago), 4 pending'));
  assert.ok(
    lines.includes(
      '! the refreshCDN plugin is FAILING: its last attempt failed 2s ago: CDN refused the purge: HTTP/1.1 403 Forbidden',
    ),
  );
  assert.ok(
    lines.includes(
      '! the kernel dropped events 1 time (last 1m30s ago): the refreshCDN plugin was never told of those changes',
    ),
  );
  assert.ok(
    lines.includes(
      "! 2 events withheld from the refreshCDN plugin (last 30s ago): their tree's root was replaced, so their paths led outside the tree",
    ),
  );
  // healthy again: the counters stay, the warning goes
  const healed = statusText(
    buildStatus(inputs({ plugin: { ...failingPlugin(), failing: false, overflows: 0, withheld: 0 } })),
  );
  assert.equal(healed.includes('!  the refreshCDN'), false);
  assert.equal(/FAILING|dropped events|withheld/.test(healed), false);
  assert.ok(healed.includes('plugin:    refreshCDN: 120 delivered, 3 failed'));
  // no plugin: no line
  assert.equal(statusText(buildStatus(inputs())).includes('plugin:'), false);
  // -m: the same lines
  const only = pluginOnlyStatusText(
    buildPluginOnlyStatus({
      pid: 7,
      version: '9.9.9',
      configFile: '/c.xml',
      startedAt: T,
      now: T,
      plugin: failingPlugin(),
      trees: [],
    }),
  );
  assert.match(only, /^plugin: +refreshCDN: 120 delivered, 3 failed \(last 2s ago\), 4 pending$/m);
  assert.match(only, /^! the refreshCDN plugin is FAILING/m);
});

test("status: the plugin's counters are kept over reloads; its gauges are the running one's", () => {
  const past = {
    ...failingPlugin(),
    delivered: 10,
    failed: 2,
    overflows: 1,
    withheld: 3,
    pending: 9,
    lastFailureAt: T - 50_000,
  };
  const now = {
    ...failingPlugin(),
    delivered: 5,
    failed: 0,
    overflows: 0,
    withheld: 1,
    pending: 1,
    failing: false,
    lastFailureAt: null,
    lastError: null,
    lastOverflowAt: null,
    lastWithheldAt: null,
  };
  const merged = pluginWithPast(now, past);
  assert.ok(merged !== null);
  assert.deepEqual(
    [merged.delivered, merged.failed, merged.overflows, merged.withheld, merged.pending, merged.failing],
    [15, 2, 1, 4, 1, false],
  );
  assert.deepEqual([merged.lastFailureAt, merged.lastError], [T - 50_000, past.lastError]);
  assert.equal(merged.lastOverflowAt, past.lastOverflowAt);
  assert.equal(merged.lastWithheldAt, past.lastWithheldAt);
  // another plugin after the reload: its own counters only
  assert.equal(pluginWithPast({ ...now, name: 'http' }, past)?.delivered, 5);
  assert.equal(pluginWithPast(null, past), null);
});

test('status: a retry queue that cannot be written is said, from the lane that failed first', () => {
  const [www, img] = trees();
  assert.ok(www !== undefined && img !== undefined);
  const failing = (tree: TreeStatus, since: number, error: string): TreeStatus => ({
    ...tree,
    lanes: tree.lanes.map((l) => ({ ...l, queueFailingSince: since, queueError: error })),
  });
  const s = buildStatus(
    inputs({
      trees: [
        failing(www, T - 3000, 'later'),
        failing(img, T - 12_000, 'database is locked (SQLITE_BUSY); changes wait in memory'),
      ],
    }),
  );
  assert.deepEqual(s.queueWriteFailure, {
    since: T - 12_000,
    error: 'database is locked (SQLITE_BUSY); changes wait in memory',
  });
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        '! the retry queue CANNOT BE WRITTEN (since 12s ago): database is locked (SQLITE_BUSY); changes wait in memory',
      ),
  );
  const m = renderMetrics(s);
  assert.match(m, /^sersync_queue_write_failing 1$/m);
  const fine = buildStatus(inputs());
  assert.equal(fine.queueWriteFailure, null);
  assert.doesNotMatch(statusText(fine), /CANNOT BE WRITTEN/);
  assert.match(renderMetrics(fine), /^sersync_queue_write_failing 0$/m);
});

test("status: what a remote's daemon refused to receive by its module's policy is a note, summed over trees, with the latest name; /metrics counts it", () => {
  const [www, img] = trees();
  assert.ok(www !== undefined && img !== undefined);
  const refusing = (tree: TreeStatus, n: number, path: string, at: number): TreeStatus => ({
    ...tree,
    lanes: tree.lanes.map((l) => ({ ...l, daemonRefused: n, lastDaemonRefused: { path, at } })),
  });
  const s = buildStatus(
    inputs({ trees: [refusing(www, 2, 'up/a.tmp', T - 5000), refusing(img, 1, 'lost+found', T - 1000)] }),
  );
  const [remote] = s.remotes;
  assert.equal(remote?.daemonRefused, 3);
  assert.deepEqual(remote.lastDaemonRefused, { path: 'lost+found', at: T - 1000 });
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        'note: A::m refused to receive 3 files its module excludes (rsyncd.conf exclude or filter; the last "lost+found", 1s ago): not on it, by its policy',
      ),
  );
  assert.match(renderMetrics(s), /^sersync_daemon_refused_total\{root="\/srv\/www",remote="A::m"\} 2$/m);
  assert.doesNotMatch(statusText(buildStatus(inputs())), /^note:/m);
});

test("status: new directories whose prune a remote's daemon refused by its policy are a note, summed over trees and kept over reloads; /metrics counts them", () => {
  const [www, img] = trees();
  assert.ok(www !== undefined && img !== undefined);
  const unpruned = (tree: TreeStatus, n: number, path: string, at: number): TreeStatus => ({
    ...tree,
    lanes: tree.lanes.map((l) => ({ ...l, pruneRefused: n, lastPruneRefused: { path, at } })),
  });
  const s = buildStatus(
    inputs({ trees: [unpruned(www, 2, 'up/new', T - 1000), unpruned(img, 1, 'cache', T - 5000)] }),
  );
  const [remote] = s.remotes;
  assert.equal(remote?.pruneRefused, 3);
  assert.deepEqual(remote.lastPruneRefused, { path: 'up/new', at: T - 1000 });
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        'note: A::m refuses removals (rsyncd.conf refuse options): 3 new directories sent whole not pruned (the last "up/new", 1s ago): what their copies hold that the source has not stays on it',
      ),
  );
  assert.match(renderMetrics(s), /^sersync_prune_refused_total\{root="\/srv\/img",remote="A::m"\} 1$/m);
  const reloaded = withPast(
    [unpruned(www, 1, 'later', T - 500)],
    addRun([], [unpruned(www, 2, 'up/new', T - 1000)]),
  );
  const lane = reloaded[0]?.lanes[0];
  assert.equal(lane?.pruneRefused, 3);
  assert.deepEqual(lane.lastPruneRefused, { path: 'later', at: T - 500 });
  assert.doesNotMatch(statusText(buildStatus(inputs())), /refuses removals/);
});

test("status: runs a remote's daemon refused as busy (max connections) are a note with its limit, summed over trees and kept over reloads; /metrics counts them", () => {
  const [www, img] = trees();
  assert.ok(www !== undefined && img !== undefined);
  const refused = (tree: TreeStatus, n: number, limit: number, at: number): TreeStatus => ({
    ...tree,
    lanes: tree.lanes.map((l) => ({ ...l, daemonBusy: n, lastDaemonBusy: { limit, at } })),
  });
  const s = buildStatus(inputs({ trees: [refused(www, 2, 1, T - 1000), refused(img, 1, 4, T - 5000)] }));
  const [remote] = s.remotes;
  assert.equal(remote?.daemonBusy, 3);
  assert.deepEqual(remote.lastDaemonBusy, { limit: 1, at: T - 1000 });
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        "note: A::m refused 3 rsync runs as busy (rsyncd.conf max connections = 1; the last 1s ago): each went again after a short wait, then by the retry queue; a limit above sersync2's rsync threads (-n) avoids the wait",
      ),
  );
  assert.match(renderMetrics(s), /^sersync_daemon_busy_total\{root="\/srv\/img",remote="A::m"\} 1$/m);
  const reloaded = withPast([refused(www, 1, 2, T - 500)], addRun([], [refused(www, 2, 1, T - 1000)]));
  const lane = reloaded[0]?.lanes[0];
  assert.equal(lane?.daemonBusy, 3);
  assert.deepEqual(lane.lastDaemonBusy, { limit: 2, at: T - 500 });
  assert.doesNotMatch(statusText(buildStatus(inputs())), /as busy/);
});

test('status: a remote whose rsync compares times only to the second is a note while its last full sync did, over trees and reloads; /metrics shows it; gone once a full sync takes the nanosecond window', () => {
  const [www, img] = trees();
  assert.ok(www !== undefined && img !== undefined);
  const took = (tree: TreeStatus, window: 'second' | 'nanosecond', at: number): TreeStatus => ({
    ...tree,
    lanes: tree.lanes.map((l) => ({ ...l, fullSyncWindow: { window, at } })),
  });
  const note =
    'note: A::m compares modification times to the second (it refuses the nanosecond window: rsync older than 3.1.3, or refuse options; the last full sync 1s ago): a full sync or verify misses a file rewritten at the same size within the second of its copy';
  const s = buildStatus(inputs({ trees: [took(www, 'second', T - 1000), took(img, 'second', T - 9000)] }));
  assert.deepEqual(s.remotes[0]?.fullSyncWindow, { window: 'second', at: T - 1000 });
  assert.ok(statusText(s).split('\n').includes(note), statusText(s));
  assert.match(renderMetrics(s), /^sersync_full_sync_seconds_window\{root="\/srv\/img",remote="A::m"\} 1$/m);
  // the remote upgraded: the later full sync took the window
  const upgraded = buildStatus(
    inputs({ trees: [took(www, 'second', T - 9000), took(img, 'nanosecond', T - 1000)] }),
  );
  assert.doesNotMatch(statusText(upgraded), /to the second/);
  assert.match(
    renderMetrics(upgraded),
    /^sersync_full_sync_seconds_window\{root="\/srv\/img",remote="A::m"\} 0$/m,
  );
  // over a reload the running lane's, unless it has had no full sync yet
  const past = addRun([], [took(www, 'second', T - 5000)]);
  assert.deepEqual(withPast([www], past)[0]?.lanes[0]?.fullSyncWindow, { window: 'second', at: T - 5000 });
  assert.deepEqual(withPast([took(www, 'nanosecond', T - 100)], past)[0]?.lanes[0]?.fullSyncWindow, {
    window: 'nanosecond',
    at: T - 100,
  });
  assert.match(
    renderMetrics(buildStatus(inputs())),
    /^sersync_full_sync_seconds_window\{root="\/srv\/www",remote="A::m"\} 0$/m,
  );
});

test('status: a remote that takes no runs is said while it lasts, the worst of its trees; /metrics says why per lane', () => {
  const [www, img] = trees();
  assert.ok(www !== undefined && img !== undefined);
  const reached = (tree: TreeStatus, contact: RemoteContact): TreeStatus => ({
    ...tree,
    lanes: tree.lanes.map((l) => (l.remote === 'A::m' ? { ...l, contact } : l)),
  });
  const down = (m: string, root: string, reason: string): number | undefined =>
    parsePrometheusText(m)
      .get('sersync_remote_down')
      ?.samples.find((x) => x.labels['root'] === root && x.labels['reason'] === reason)?.value;
  const lost = buildStatus(inputs({ trees: [reached(www, 'runs-lost'), reached(img, 'unreachable')] }));
  assert.equal(lost.remotes.find((r) => r.remote === 'A::m')?.contact, 'unreachable');
  assert.equal(lost.remotes.find((r) => r.remote === 'B::m')?.contact, 'answering');
  assert.match(
    statusText(lost),
    /^! A::m is UNREACHABLE: its work waits in the retry queue, and goes as soon as a probe finds it answering$/m,
  );
  assert.doesNotMatch(statusText(lost), /B::m is|B::m answers/);
  const metrics = renderMetrics(lost);
  assert.equal(down(metrics, '/srv/www', 'runs-lost'), 1);
  assert.equal(down(metrics, '/srv/www', 'unreachable'), 0);
  assert.equal(down(metrics, '/srv/img', 'unreachable'), 1);
  const losing = buildStatus(inputs({ trees: [reached(www, 'runs-lost'), img] }));
  assert.match(
    statusText(losing),
    /^! A::m answers, but LOSES EVERY RUN \(.*\): its work waits for the retry interval$/m,
  );
  const fine = buildStatus(inputs());
  assert.doesNotMatch(statusText(fine), /UNREACHABLE|LOSES EVERY RUN/);
  assert.equal(down(renderMetrics(fine), '/srv/www', 'unreachable'), 0);
});

test('status: a file kept open and written for over a minute is said, with how long and where it is missing; not one held a moment', () => {
  const [www, img] = trees();
  assert.ok(www !== undefined && img !== undefined);
  const holding = (tree: TreeStatus, path: string, since: number): TreeStatus => ({
    ...tree,
    lanes: tree.lanes.map((l) => ({ ...l, awaitingClose: 1, longestAwaitingClose: { path, since } })),
  });
  const text = statusText(
    buildStatus(
      inputs({
        trees: [holding(www, 'logs/app.log', T - 3 * 3_600_000), holding(img, 'upload.bin', T - 2000)],
      }),
    ),
  );
  const said = text.split('\n').filter((l) => l.includes('kept open'));
  assert.deepEqual(said, [
    `! /srv/www/logs/app.log is kept open and written by its writer (for 3h00m; not on ${www.lanes.map((l) => l.remote).join(', ')} meanwhile): it is sent once it stays unchanged for a while, or is closed; turn <modify> on to send it as it grows, or exclude it`,
  ]);
});

test('status: a name with a newline cannot break the table', () => {
  const text = statusText(buildStatus(inputs({ trees: [{ ...imgTree(), root: '/srv/a\nb' }] })));
  assert.ok(text.includes('/srv/a\\nb'));
  assert.equal(text.split('\n').filter((l) => l.startsWith('b ')).length, 0);
});

test('status: byte counts in binary units', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
});

test('status: a partly watched tree says where, why and what to do', () => {
  const tree: TreeStatus = {
    ...imgTree(),
    ...watched({
      watching: false,
      directories: 5,
      degraded: ['watch-limit', 'unwatchable', 'unmounted', 'fallback-watcher'],
      unwatchedDirectories: 40,
      gaps: [
        { path: 'mnt/disk', reason: 'unmounted' },
        { path: 'big', reason: 'watch-limit' },
        { path: 'deep/er', reason: 'unwatchable', why: 'permission denied (openat)' },
      ],
      watcherRestarts: 1,
      lastWatcherRestart: { at: T - 4000, reason: 'read: Input/output error' },
      sharedFileSystems: [
        { path: '', fstype: 'nfs4' },
        { path: 'media', fstype: 'fuse.sshfs' },
      ],
    }),
  };
  const lines = statusText(buildStatus(inputs({ trees: [tree], retries: [] }))).split('\n');
  const row = (lines.find((l) => l.startsWith('/srv/img')) ?? '').split(/\s{2,}/);
  assert.deepEqual(row, [
    '/srv/img',
    'PARTLY',
    '5',
    '7',
    '3',
    'watch-limit,unwatchable,unmounted,fallback-watcher',
  ]);
  const notes = lines.filter((l) => l.startsWith('! '));
  assert.equal(notes.length, 6);
  assert.match(notes[0] ?? '', /40 directories not watched .*max_user_watches.*: big$/);
  assert.match(
    notes[1] ?? '',
    /cannot be watched, their changes missed .*: deep\/er \(permission denied \(openat\)\)$/,
  );
  assert.match(notes[2] ?? '', /unmounted \(mnt\/disk\)/);
  assert.match(notes[3] ?? '', /chokidar fallback/);
  assert.match(
    notes[4] ?? '',
    /^! \/srv\/img: on nfs4, fuse\.sshfs at media, which other hosts .* arrive only with a full sync/,
  );
  assert.match(notes[5] ?? '', /watcher restarted 1 time \(last 4s ago: read: Input\/output error\)/);
});

test('status: retry rows of a remote the config no longer has are said, with how to see them, and counted', () => {
  const s = buildStatus(
    inputs({
      retries: [
        ...inputs().retries,
        { remoteId: 'gone::m', root: '/srv/www', count: 3000, oldestSeenAt: T - 600_000 },
      ],
    }),
  );
  assert.deepEqual(
    s.orphanedRetries.map((o) => [o.root, o.remoteId, o.count]),
    [['/srv/www', 'gone::m', 3000]],
  );
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        '! 3000 queued retries of /srv/www -> gone::m, which the config no longer has, are not sent: `sersync2 queue list --remote gone::m` shows them; drop them, or put the remote back',
      ),
  );
  assert.match(renderMetrics(s), /^sersync_queue_orphaned_retries 3000$/m);
  const fine = buildStatus(inputs());
  assert.deepEqual(fine.orphanedRetries, []);
  assert.match(renderMetrics(fine), /^sersync_queue_orphaned_retries 0$/m);
});

test('status: a refused reload is said until one takes effect, and /metrics counts it', () => {
  const s = buildStatus(
    inputs({ reloadRefused: { at: T - 5000, error: '/etc/sersync2/confxml.xml:3:7: unclosed <localpath>' } }),
  );
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        '! the last reload was refused (5s ago): /etc/sersync2/confxml.xml:3:7: unclosed <localpath>; the config running is the one before it',
      ),
  );
  assert.match(renderMetrics(s), /^sersync_config_last_reload_successful 0$/m);
  const fine = buildStatus(inputs());
  assert.equal(fine.reloadRefused, null);
  assert.match(renderMetrics(fine), /^sersync_config_last_reload_successful 1$/m);
});

test('status: a log file that cannot be written is said while it lasts, with the lines dropped; /metrics flags it', () => {
  const s = buildStatus(
    inputs({ logTrouble: { since: T - 5000, error: 'ENOSPC: no space left on device, write', dropped: 7 } }),
  );
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        '! the log CANNOT BE WRITTEN (since 5s ago): ENOSPC: no space left on device, write; replication goes on, 7 lines of the log dropped',
      ),
  );
  assert.match(renderMetrics(s), /^sersync_log_write_failing 1$/m);
  const fine = buildStatus(inputs());
  assert.equal(fine.logWriteFailure, null);
  assert.doesNotMatch(statusText(fine), /log file/);
  assert.match(renderMetrics(fine), /^sersync_log_write_failing 0$/m);
});

test("status: sersync's fail log that is not written is said while it lasts; /metrics flags it", () => {
  const file = '/var/log/rsync_fail_log.sh';
  const s = buildStatus(
    inputs({ failLogTrouble: { file, since: T - 3000, error: 'ENOSPC: no space left on device, write' } }),
  );
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        `! the fail log ${file} is not written (since 3s ago): ENOSPC: no space left on device, write; the retry queue is unaffected`,
      ),
  );
  assert.match(renderMetrics(s), /^sersync_fail_log_write_failing 1$/m);
  const fine = buildStatus(inputs());
  assert.equal(fine.failLogWriteFailure, null);
  assert.doesNotMatch(statusText(fine), /fail log/);
  assert.match(renderMetrics(fine), /^sersync_fail_log_write_failing 0$/m);
});

test('status of -m PLUGIN: a log that cannot be written is said there too', () => {
  const s = buildPluginOnlyStatus({
    pid: 7,
    version: '9.9.9',
    configFile: '/etc/sersync2/confxml.xml',
    startedAt: T - 60_000,
    now: T,
    plugin: failingPlugin(),
    trees: [],
    logTrouble: { since: T - 2000, error: 'ENOSPC: no space left on device, write', dropped: 0 },
  });
  assert.ok(
    pluginOnlyStatusText(s)
      .split('\n')
      .includes(
        '! the log CANNOT BE WRITTEN (since 2s ago): ENOSPC: no space left on device, write; replication goes on',
      ),
  );
});

test('status: rsync that cannot be started is said while it lasts, with its cause and since when; /metrics flags it', () => {
  const why = 'cannot run rsync: sersync2 has as many files open as its limit allows (EMFILE): raise it';
  const s = buildStatus(
    inputs({
      pool: { inFlight: 0, maxConcurrent: 10, started: 12, cannotStart: { since: T - 65_000, runs: 3, why } },
    }),
  );
  assert.ok(
    statusText(s)
      .split('\n')
      .includes(
        `! ${why} (every run since 1m05s ago: 3 runs); the changes wait and go once rsync starts again`,
      ),
  );
  assert.match(renderMetrics(s), /^sersync_rsync_problem 1$/m);
  const fine = buildStatus(inputs());
  assert.doesNotMatch(statusText(fine), /every run since/);
  assert.match(renderMetrics(fine), /^sersync_rsync_problem 0$/m);
});

test('status: the rsync every run uses and whether its reads are confined, once looked at; /metrics says it', () => {
  const report = (over: Partial<RsyncReport>): RsyncReport => ({
    version: '3.2.7',
    confined: true,
    confinement:
      "yes: rsync reads only the tree and the system's files, and writes only a local replica (Landlock ABI 7)",
    unavailable: null,
    problem: null,
    ...over,
  });
  const rsyncLine = (s: ReturnType<typeof buildStatus>): string =>
    statusText(s)
      .split('\n')
      .find((l) => l.startsWith('rsync:')) ?? '';
  const before = buildStatus(inputs());
  assert.equal(rsyncLine(before), 'rsync:     1 of 10 running, 12 started', 'not looked at yet');
  assert.doesNotMatch(renderMetrics(before), /^sersync_rsync_reads_confined /m);

  const confined = buildStatus(inputs({ rsync: report({}) }));
  assert.equal(
    rsyncLine(confined),
    'rsync:     1 of 10 running, 12 started; 3.2.7, reads confined to the tree',
  );
  assert.match(renderMetrics(confined), /^sersync_rsync_reads_confined 1$/m);
  assert.match(renderMetrics(confined), /^sersync_rsync_problem 0$/m);

  const problem = 'rsync 3.2.7 follows a symlink planted …';
  const noLandlock = buildStatus(
    inputs({ rsync: report({ confined: false, unavailable: 'this kernel has no Landlock', problem }) }),
  );
  assert.equal(
    rsyncLine(noLandlock),
    'rsync:     1 of 10 running, 12 started; 3.2.7, reads not confined: this kernel has no Landlock',
  );
});

test('status: a remote whose daemon refuses --delete is a note while its last full sync went without it, over trees and reloads; /metrics shows it; gone once one removes', () => {
  const [www, img] = trees();
  assert.ok(www !== undefined && img !== undefined);
  const went = (tree: TreeStatus, refused: boolean, at: number): TreeStatus => ({
    ...tree,
    lanes: tree.lanes.map((l) => ({ ...l, fullSyncRemovals: { refused, at } })),
  });
  const note =
    'note: A::m refuses removals (rsyncd.conf refuse options): full syncs go without --delete (the last 1s ago): what was removed from the tree while sersync2 was stopped stays on it';
  const s = buildStatus(inputs({ trees: [went(www, true, T - 1000), went(img, false, T - 9000)] }));
  assert.deepEqual(s.remotes[0]?.fullSyncRemovals, { refused: true, at: T - 1000 });
  assert.ok(statusText(s).split('\n').includes(note), statusText(s));
  assert.match(
    renderMetrics(s),
    /^sersync_full_sync_removals_refused\{root="\/srv\/www",remote="A::m"\} 1$/m,
  );
  assert.match(
    renderMetrics(s),
    /^sersync_full_sync_removals_refused\{root="\/srv\/img",remote="A::m"\} 0$/m,
  );
  const lifted = buildStatus(inputs({ trees: [went(www, true, T - 9000), went(img, false, T - 1000)] }));
  assert.doesNotMatch(statusText(lifted), /full syncs go without --delete/);
  const past = addRun([], [went(www, true, T - 5000)]);
  assert.deepEqual(withPast([www], past)[0]?.lanes[0]?.fullSyncRemovals, { refused: true, at: T - 5000 });
  assert.deepEqual(withPast([went(www, false, T - 100)], past)[0]?.lanes[0]?.fullSyncRemovals, {
    refused: false,
    at: T - 100,
  });
});
