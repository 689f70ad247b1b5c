import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Change } from '../../src/filter/changes.js';
import { fromUtf8 } from '../../src/paths.js';
import { createMemoryWorkStore } from '../helpers/memory-store.js';
import { Lane, type BatchReport } from '../../src/sync/lane.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { absoluteBytes } from '../../src/sync/walk.js';
import { daemonRemote, SERSYNC_TOGGLES, testConfig } from '../helpers/config.js';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { testLane, withLane as withDaemonLane, type LaneRig } from '../helpers/lane.js';
import { tempDir } from '../helpers/tmp.js';
import { treeDiff } from '../helpers/trees.js';

let daemon: RsyncDaemon;
let pool: RsyncPool;
before(async () => {
  daemon = await startRsyncDaemon();
  pool = new RsyncPool(4);
});

/**
 * What a rename's run sent: nothing, the daemon builds the renamed directories from their old copy
 * (hard links), on a daemon patched for the 2026 symlink races too (rsync#915: the basis is named
 * from the module's root).
 */
function assertRebuiltFromOldCopy(sent: readonly string[]): void {
  assert.deepEqual(sent, [], 'no file content was sent for the rename');
}
after(async () => {
  await pool.close();
  await disposeRsyncDaemon(daemon);
});

const withLane = (body: (rig: LaneRig) => Promise<void>): Promise<void> =>
  withDaemonLane(daemon, pool, {}, body);

const HOSTILE = [
  'with space$x.txt',
  'quote"d\'.txt',
  '`touch INJECTED`.txt',
  '$(touch INJECTED2)',
  'x; touch PWNED',
  '-leading-dash',
  '--delete',
  'new\nline',
  'tab\there',
  'back\\slash',
  'star*and?[brackets]',
  '#hash',
  ';semicolon',
];

test('lane: hostile names replicate byte-exact and nothing is executed', async () => {
  await withLane(async ({ root, lane, reports }) => {
    const changes: Change[] = [];
    for (const name of HOSTILE) {
      writeFileSync(join(root, name), `content of ${name}`);
      changes.push({ kind: 'sync', path: fromUtf8(name) });
    }
    const latin = Buffer.from([0x6e, 0x6f, 0x6e, 0xe9, 0xff, 0x2e, 0x62, 0x69, 0x6e]); // not UTF-8
    writeFileSync(absoluteBytes(root, latin.toString('latin1')), 'bytes');
    changes.push({ kind: 'sync', path: latin.toString('latin1') });
    for (const c of changes) lane.push(c);
    await lane.idle();
    assert.equal(reports.at(-1)?.failure, null);
    assert.equal(treeDiff(root, daemon.dir), '');
    for (const f of ['INJECTED', 'INJECTED2', 'PWNED']) {
      assert.equal(existsSync(join(root, f)) || existsSync(join(daemon.dir, f)) || existsSync(f), false, f);
    }
  });
});

test('lane: many deletes are one rsync run and remove exactly what was deleted', async () => {
  await withLane(async ({ root, lane, reports }) => {
    mkdirSync(join(root, 'd/e'), { recursive: true });
    for (const n of ['a', 'b', 'c', 'd/x', 'd/e/y', 'star*']) writeFileSync(join(root, n), n);
    lane.push({ kind: 'tree', path: 'd' });
    for (const n of ['a', 'b', 'c', 'star*']) lane.push({ kind: 'sync', path: n });
    await lane.idle();
    assert.equal(treeDiff(root, daemon.dir), '');
    const before = reports.length;
    rmSync(join(root, 'a'));
    rmSync(join(root, 'star*'));
    rmSync(join(root, 'd/e'), { recursive: true });
    lane.push({ kind: 'delete', path: 'a', isDir: false });
    lane.push({ kind: 'delete', path: 'star*', isDir: false });
    lane.push({ kind: 'delete', path: 'd/e', isDir: true });
    await lane.idle();
    assert.equal(treeDiff(root, daemon.dir), '');
    assert.deepEqual(
      reports.slice(before).map((r) => r.results.length),
      [1],
    );
  });
});

test('lane: a renamed directory is not sent again', async () => {
  await withLane(async ({ root, lane }) => {
    mkdirSync(join(root, 'p/old'), { recursive: true });
    for (let i = 0; i < 200; i++) writeFileSync(join(root, `p/old/f${i}`), Buffer.alloc(10_000, i));
    lane.push({ kind: 'tree', path: 'p' });
    await lane.idle();
    const sentBefore = (await daemon.received()).length;
    renameSync(join(root, 'p/old'), join(root, 'p/new'));
    lane.push({ kind: 'rename', from: 'p/old', to: 'p/new', isDir: true });
    await lane.idle();
    assert.equal(treeDiff(root, daemon.dir), '');
    assertRebuiltFromOldCopy((await daemon.received()).slice(sentBefore));
  });
});

test('lane: renamed directories in one batch are rebuilt at once, each from its old copy', async () => {
  await withLane(async ({ root, lane, reports }) => {
    for (const d of ['a', 'b']) {
      mkdirSync(join(root, `${d}/old`), { recursive: true });
      for (let i = 0; i < 30; i++) writeFileSync(join(root, `${d}/old/f${i}`), Buffer.alloc(10_000, i));
    }
    lane.push({ kind: 'tree', path: 'a' });
    lane.push({ kind: 'tree', path: 'b' });
    await lane.idle();
    const sentBefore = (await daemon.received()).length;
    renameSync(join(root, 'a/old'), join(root, 'a/new'));
    renameSync(join(root, 'b/old'), join(root, 'b/new'));
    lane.push({ kind: 'rename', from: 'a/old', to: 'a/new', isDir: true });
    lane.push({ kind: 'rename', from: 'b/old', to: 'b/new', isDir: true });
    await lane.idle();
    assert.equal(reports.at(-1)?.failure, null);
    assert.equal(treeDiff(root, daemon.dir), '');
    assertRebuiltFromOldCopy((await daemon.received()).slice(sentBefore));
  });
});

test('lane: a small renamed directory goes with the batch sends instead of a --link-dest run of its own', async () => {
  await withLane(async ({ root, lane }) => {
    mkdirSync(join(root, 'p/old'), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(root, `p/old/f${i}`), `${i}`);
    lane.push({ kind: 'tree', path: 'p' });
    await lane.idle();
    const sentBefore = (await daemon.received()).length;
    const runsBefore = pool.started;
    renameSync(join(root, 'p/old'), join(root, 'p/new'));
    lane.push({ kind: 'rename', from: 'p/old', to: 'p/new', isDir: true });
    await lane.idle();
    assert.equal(treeDiff(root, daemon.dir), '');
    assert.equal(pool.started - runsBefore, 2, 'one run removes the old name, one sends the new');
    const sentAfter = (await daemon.received()).slice(sentBefore);
    assert.deepEqual(sentAfter.filter((p) => p.startsWith('p/new/')).sort(), [
      'p/new/f0',
      'p/new/f1',
      'p/new/f2',
    ]);
  });
});

test('lane: a remote that is down keeps the work queued, and it converges once back', async () => {
  await withLane(async ({ root, lane, reports, store }) => {
    await daemon.stop();
    try {
      writeFileSync(join(root, 'late.txt'), 'late');
      lane.push({ kind: 'sync', path: 'late.txt' });
      await lane.idle();
      const failure = reports.at(-1)?.failure;
      assert.ok(failure !== null && failure !== undefined);
      assert.match(failure.message, /Connection refused|connect/);
      const due = store.due(Date.now() + 3_600_000, 10);
      assert.deepEqual(
        due.map((r) => r.op),
        [{ kind: 'sync', path: 'late.txt' }],
      );
    } finally {
      await daemon.restart();
    }
    for (const row of store.due(Date.now() + 3_600_000, 10)) lane.restore(row.op);
    await lane.idle();
    assert.equal(reports.at(-1)?.failure, null);
    assert.equal(treeDiff(root, daemon.dir), '');
    assert.equal(store.nextDueAt(), null);
  });
});

test('lane: a file rewritten at the same size within the same second is still sent (rsync quick check)', async () => {
  await withLane(async ({ root, lane }) => {
    writeFileSync(join(root, 's.txt'), 'alpha beta\n');
    lane.push({ kind: 'sync', path: 's.txt' });
    await lane.idle();
    writeFileSync(join(root, 's.txt'), 'ALPHA beta\n');
    lane.push({ kind: 'sync', path: 's.txt' });
    await lane.idle();
    assert.equal(treeDiff(root, daemon.dir), '');
  });
});

test('lane: a directory renamed into a parent the replica lacks is sent whole instead', async () => {
  await withLane(async ({ root, lane, reports }) => {
    mkdirSync(join(root, 'p/old'), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(root, `p/old/f${i}`), `${i}`);
    lane.push({ kind: 'tree', path: 'p' });
    await lane.idle();
    mkdirSync(join(root, 'q')); // exists here, not yet on the replica
    renameSync(join(root, 'p/old'), join(root, 'q/new'));
    lane.push({ kind: 'rename', from: 'p/old', to: 'q/new', isDir: true });
    await lane.idle();
    assert.equal(reports.at(-1)?.failure, null);
    assert.equal(treeDiff(root, daemon.dir), '');
  });
});

test('lane: a new directory whose walked entries start with # or ; is sent whole (not read as comments)', async () => {
  await withLane(async ({ root, lane }) => {
    mkdirSync(join(root, '#dir/;sub'), { recursive: true });
    writeFileSync(join(root, '#dir/#file'), 'h');
    writeFileSync(join(root, '#dir/;sub/;file'), 's');
    lane.push({ kind: 'tree', path: '#dir' });
    await lane.idle();
    assert.equal(treeDiff(root, daemon.dir), '');
  });
});

test('lane: a full sync with --delete from an empty root to an empty local replica is quietly nothing', async () => {
  const src = await tempDir();
  const replica = await tempDir();
  const lines: string[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => lines.push(l) });
  const remote = { id: replica.path, target: { kind: 'local' as const, path: replica.path } };
  const reports: BatchReport[] = [];
  const lane = new Lane({
    config: testConfig([{ watch: src.path, remotes: [remote] }]),
    root: src.path,
    remote,
    pool,
    store: createMemoryWorkStore(),
    log,
    settleMs: 1,
    onBatch: (r) => reports.push(r),
  });
  try {
    lane.restore({ kind: 'full', path: '' });
    await lane.idle();
    assert.equal(reports.at(-1)?.failure, null);
    assert.deepEqual(reports.at(-1)?.results, []);
    assert.deepEqual(
      lines.filter((l) => l.includes('"level":50')),
      [],
    );
  } finally {
    await lane.stop();
    await src.remove();
    await replica.remove();
  }
});

test('lane: a batch whose every file a walk just sent, unchanged, starts no rsync at all', async () => {
  await withLane(async ({ root, lane, reports }) => {
    mkdirSync(join(root, 'd'));
    for (const n of ['a', 'b']) writeFileSync(join(root, 'd', n), `${n}\n`);
    lane.push({ kind: 'tree', path: 'd' });
    await lane.idle();
    const sessions = async (): Promise<number> =>
      (await readFile(daemon.logFile, 'utf8')).split('\n').filter((l) => / rsync to /.test(l)).length;
    const before = await sessions();
    const runs = lane.stats.rsyncRuns;
    // Their close_write events, after the walk: nothing changed since.
    lane.push({ kind: 'sync', path: 'd/a' });
    lane.push({ kind: 'sync', path: 'd/b' });
    await lane.idle();
    const last = reports.at(-1);
    assert.ok(last !== undefined);
    assert.equal(last.failure, null);
    assert.deepEqual(
      last.results.map((r) => [r.ran, r.listed, r.filesSent]),
      [[false, 0, 0]],
    );
    assert.equal(lane.stats.rsyncRuns, runs, 'no rsync run counted');
    assert.equal(await sessions(), before, 'no session reached the daemon');
    assert.equal(treeDiff(root, daemon.dir), '');
  });
});

test('lane: a file a walk just sent is not sent again by its own later close_write, unless it changed', async () => {
  await withLane(async ({ root, lane, reports }) => {
    mkdirSync(join(root, 'd'));
    // Written just before the walk, in the file clock's tick it starts in, as a burst's last files are.
    for (const n of ['same', 'changed']) writeFileSync(join(root, 'd', n), `${n}\n`);
    lane.push({ kind: 'tree', path: 'd' });
    await lane.idle();
    const sent = (): number => reports.at(-1)?.results.reduce((n, r) => n + (r.filesSent ?? 0), 0) ?? -1;
    assert.equal(sent(), 2);
    // Their close_write events arrive after the walk: one file unchanged since, one rewritten.
    writeFileSync(join(root, 'd', 'changed'), 'changed again\n');
    lane.push({ kind: 'sync', path: 'd/same' });
    lane.push({ kind: 'sync', path: 'd/changed' });
    await lane.idle();
    assert.equal(sent(), 1, 'only the rewritten file travels again');
    assert.equal(treeDiff(root, daemon.dir), '');
    // The next time, with no walk in between, a send is a send.
    lane.push({ kind: 'sync', path: 'd/same' });
    await lane.idle();
    assert.equal(sent(), 1);
  });
});

test('lane: a created file nobody closes is pending while held (a stop then queues it), and sent once it stays unchanged', async () => {
  await withLane(async ({ root, lane }) => {
    const fd = openSync(join(root, 'app.log'), 'w');
    try {
      lane.push({ kind: 'new', path: 'app.log' });
      writeSync(fd, 'written, never closed\n');
      assert.equal(lane.pending, 1, 'created and not sent: counted');
      await new Promise<void>((resolve) => {
        const look = setInterval(() => {
          if (lane.stats.awaitingClose !== 1) return;
          clearInterval(look);
          resolve();
        }, 5);
      });
      assert.equal(lane.pending, 1, 'held for its writer: still counted');
      await lane.idle();
      assert.equal(treeDiff(root, daemon.dir), '', 'sent with its descriptor still open');
      assert.equal(lane.stats.awaitingClose, 0);
      assert.equal(lane.pending, 0);
    } finally {
      closeSync(fd);
    }
  });
});

test('lane: a created file nobody closes is not held, nor sent, with closeWrite off or with a temporary-looking name', async () => {
  for (const [closeWrite, name] of [
    [false, 'linked'],
    [true, '.page.html.swp'],
  ] as const) {
    const src = await tempDir();
    const remote = daemonRemote(daemon);
    const lane = testLane({
      config: testConfig([{ watch: src.path, remotes: [remote] }], {
        daemon,
        overrides: { inotify: { ...SERSYNC_TOGGLES, closeWrite } },
      }),
      root: src.path,
      remote,
      pool,
      store: createMemoryWorkStore(),
    });
    try {
      writeFileSync(join(src.path, name), 'content');
      lane.push({ kind: 'new', path: name });
      await lane.idle();
      assert.equal(lane.stats.awaitingClose, 0, name);
      assert.equal(lane.stats.batches, 0, `${name}: nothing was sent`);
    } finally {
      await lane.stop();
      await src.remove();
    }
  }
});

test('lane: a step of the wall clock moves when its waiting changes were seen, so their lag stays', async () => {
  const src = await tempDir();
  const remote = daemonRemote(daemon);
  const config = testConfig([{ watch: src.path, remotes: [remote] }], { daemon });
  const lane = testLane({
    config,
    root: src.path,
    remote,
    pool,
    store: createMemoryWorkStore(),
    settleMs: 60_000,
  });
  try {
    writeFileSync(join(src.path, '.env.sample'), 'KEY=value');
    lane.push({ kind: 'sync', path: '.env.sample' }); // held for its name
    writeFileSync(join(src.path, 'waiting.txt'), 'waits for its batch');
    lane.push({ kind: 'sync', path: 'waiting.txt' });
    const seen = lane.oldestChangeAt;
    assert.ok(seen !== null);
    lane.shiftTimes(-1_800_000);
    assert.equal(lane.oldestChangeAt, seen - 1_800_000);
  } finally {
    await lane.stop();
    await src.remove();
  }
});
