/**
 * Full-sync progress: rsync's --info=progress2 read right, carried from the worker thread to the
 * main thread, reported as log lines; event syncs report nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createMemoryWorkStore } from '../helpers/memory-store.js';
import { Lane, type BatchReport } from '../../src/sync/lane.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { logProgress, teeProgress, type ProgressReporter } from '../../src/sync/progress-report.js';
import {
  etaSeconds,
  formatBytes,
  parseProgress2,
  percentChecked,
  Progress2Reader,
} from '../../src/sync/rsync-progress.js';
import { daemonRemote, testConfig } from '../helpers/config.js';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import { treeDiff } from '../helpers/trees.js';
import { populate, recordingReporter } from './helpers.js';

const MiB = 1024 * 1024;

test('progress2 lines as rsync prints them: bytes, rate, files sent, entries left of the list', () => {
  assert.deepEqual(parseProgress2('         10,000   0%    4.77MB/s    0:00:00 (xfr#2, to-chk=303/308)'), {
    bytes: 10_000,
    bytesPerSec: Math.round(4.77 * MiB),
    counts: { transferred: 2, toCheck: 303, listed: 308, listComplete: true },
  });
  // Incremental recursion: the list is still growing.
  assert.deepEqual(
    parseProgress2('            474   5%  459.96kB/s    0:00:00 (xfr#97, ir-chk=1403/1541)')?.counts,
    {
      transferred: 97,
      toCheck: 1403,
      listed: 1541,
      listComplete: false,
    },
  );
  // Before the first file there are no counts yet.
  assert.deepEqual(parseProgress2('              3   0%    0.00kB/s    0:00:00  '), {
    bytes: 3,
    bytesPerSec: 0,
    counts: null,
  });
  // commonParams with -h: sizes in powers of 1000 (11,500,000 bytes print as 11.50M).
  assert.equal(
    parseProgress2('         11.50M 100%  233.24MB/s    0:00:00 (xfr#305, to-chk=0/308)')?.bytes,
    11_500_000,
  );
  for (const other of [
    'sent 1,225,637 bytes  received 380,346 bytes  458,852.29 bytes/sec',
    'Number of files: 20,041 (reg: 20,000, dir: 41)',
    'd1/f1',
    '',
  ]) {
    assert.equal(parseProgress2(other), null, other);
  }
});

test('the reader follows lines cut anywhere, and trusts the walk until rsync has listed everything', () => {
  const reader = new Progress2Reader(2000);
  assert.deepEqual(reader.snapshot(), { checked: 0, total: 2000, transferred: 0, bytes: 0, bytesPerSec: 0 });
  const stream =
    '\r    100  1%  1.00kB/s  0:00:00 (xfr#10, ir-chk=990/1041)\r    200  2%  2.00kB/s  0:00:01 (xfr#20, ir-ch';
  assert.equal(reader.feed(stream.slice(0, 30)), false, 'no whole line yet');
  assert.equal(reader.feed(stream.slice(30)), true);
  assert.deepEqual(reader.snapshot(), {
    checked: 51,
    total: 2000,
    transferred: 10,
    bytes: 100,
    bytesPerSec: 1024,
  });
  reader.feed('k=900/1541)\r');
  assert.equal(reader.snapshot().checked, 641);
  // The list complete: rsync's count wins (the crontab's --exclude patterns leave entries out of it).
  reader.feed('    300  100%  3.00kB/s  0:00:02 (xfr#30, to-chk=0/1900)\n');
  assert.deepEqual(reader.snapshot(), {
    checked: 1900,
    total: 1900,
    transferred: 30,
    bytes: 300,
    bytesPerSec: 3072,
  });
});

test('the reader on a real rsync run counts every entry and every file', async () => {
  const dir = await tempDir();
  try {
    const src = join(dir.path, 'src');
    const tree = populate(src, 7, 30);
    mkdirSync(join(dir.path, 'dst'));
    const r = spawnSync('rsync', ['-a', '--info=progress2', './', '../dst/'], { cwd: src, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const reader = new Progress2Reader(tree.entries);
    reader.feed(r.stdout);
    const p = reader.snapshot();
    assert.equal(p.total, tree.entries);
    assert.equal(p.checked, tree.entries);
    assert.equal(p.transferred, tree.files);
    let size = 0;
    for (let d = 0; d < 7; d++) for (let f = 0; f < 30; f++) size += statSync(join(src, `d${d}/f${f}`)).size;
    assert.equal(p.bytes, size, 'every byte of a first copy');
  } finally {
    await dir.remove();
  }
});

test('ETA and percent from the entries checked so far', () => {
  const p = { checked: 250, total: 1000, transferred: 0, bytes: 0, bytesPerSec: 0 };
  assert.equal(percentChecked(p), 25);
  assert.equal(etaSeconds(p, 10_000), 30, 'a quarter in 10 s: three quarters in 30 s');
  assert.equal(etaSeconds({ ...p, checked: 0 }, 10_000), null);
  assert.equal(percentChecked({ ...p, total: 0 }), 0);
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(3 * MiB), '3.0 MiB');
});

test('a tee hands every full sync to each reporter (bars on the terminal, lines in the log file)', () => {
  const [a, b] = [recordingReporter(), recordingReporter()];
  const track = teeProgress([a, b]).begin({ root: '/W', remote: 'r' });
  const p = { checked: 1, total: 2, transferred: 1, bytes: 3, bytesPerSec: 4 };
  track.update(p);
  track.end();
  for (const r of [a, b])
    assert.deepEqual(r.tracks, [{ subject: { root: '/W', remote: 'r' }, updates: [p], ended: true }]);
});

let daemon: RsyncDaemon;
before(async () => {
  daemon = await startRsyncDaemon();
});
after(async () => {
  await disposeRsyncDaemon(daemon);
});

async function withLane(
  reporter: ProgressReporter,
  body: (h: { root: string; lane: Lane; reports: BatchReport[] }) => Promise<void>,
): Promise<void> {
  const src = await tempDir();
  rmSync(daemon.dir, { recursive: true, force: true });
  mkdirSync(daemon.dir);
  const remote = daemonRemote(daemon);
  const pool = new RsyncPool(4, reporter);
  const reports: BatchReport[] = [];
  const lane = new Lane({
    config: testConfig([{ watch: src.path, remotes: [remote] }], { daemon }),
    root: src.path,
    remote,
    pool,
    store: createMemoryWorkStore(),
    log: pino({ level: 'silent' }),
    settleMs: 1,
    onBatch: (r) => reports.push(r),
  });
  try {
    await body({ root: src.path, lane, reports });
  } finally {
    await lane.stop();
    await pool.close();
    await src.remove();
  }
}

test('a full sync of a few thousand files reports progress from the worker to the end; event syncs report nothing', async () => {
  const reporter = recordingReporter();
  await withLane(reporter, async ({ root, lane, reports }) => {
    const tree = populate(root, 20, 100);
    lane.push({ kind: 'resync' });
    await lane.idle();
    assert.equal(reports.at(-1)?.failure, null);
    assert.equal(treeDiff(root, daemon.dir), '');
    assert.equal(reporter.tracks.length, 1);
    const [track] = reporter.tracks;
    assert.ok(track !== undefined);
    assert.deepEqual(track.subject, { root, remote: daemonRemote(daemon).id });
    assert.equal(track.ended, true);
    const { updates } = track;
    assert.ok(updates.length >= 2, `${updates.length} updates`);
    assert.deepEqual(updates[0], {
      checked: 0,
      total: tree.entries,
      transferred: 0,
      bytes: 0,
      bytesPerSec: 0,
    });
    for (let i = 1; i < updates.length; i++) {
      const [a, b] = [updates[i - 1], updates[i]];
      assert.ok(a !== undefined && b !== undefined);
      assert.ok(
        b.checked >= a.checked && b.transferred >= a.transferred && b.bytes >= a.bytes,
        'only forward',
      );
    }
    const last = updates.at(-1);
    assert.equal(last?.checked, tree.entries);
    assert.equal(last.total, tree.entries);
    assert.equal(last.transferred, tree.files);

    writeFileSync(join(root, 'd0/new.txt'), 'new');
    lane.push({ kind: 'sync', path: 'd0/new.txt' });
    await lane.idle();
    assert.equal(treeDiff(root, daemon.dir), '');
    assert.equal(reporter.tracks.length, 1, 'an event sync does not report');
  });
});

test('without a terminal, a running full sync logs its progress with counts every interval', async () => {
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
  await withLane(logProgress(log, 20), async ({ root, lane }) => {
    const tree = populate(root, 20, 100);
    lane.push({ kind: 'resync' });
    await lane.idle();
    const progress = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.msg === 'full sync progress');
    assert.ok(progress.length >= 1, 'at least one progress line');
    for (const e of progress) {
      assert.equal(e.root, root);
      assert.equal(e.remote, daemonRemote(daemon).id);
      assert.equal(e.total, tree.entries);
      assert.ok(typeof e.checked === 'number' && e.checked <= tree.entries);
      assert.ok(
        typeof e.percent === 'number' && typeof e.transferred === 'number' && typeof e.bytes === 'number',
      );
    }
    const count = lines.length;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(lines.length, count, 'no progress lines once the sync is over');
  });
});
