/**
 * A lane with batches side by side (`depth`), against a real rsync daemon: a burst is shipped
 * while it is being written, paths stay in order, and a directory whose attributes an older
 * batch may set after a newer one is sent again (rsync sets those of the directories above a
 * path as it listed them).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RsyncPool } from '../../src/sync/pool.js';
import type { RelPath } from '../../src/paths.js';
import type { RsyncResult, RsyncTask } from '../../src/sync/task.js';
import type { ProgressSubject } from '../../src/sync/progress-report.js';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { withLane as withDaemonLane, type LaneRig } from '../helpers/lane.js';
import { treeDiff } from '../helpers/trees.js';

/** The real pool, which tells when a run starts and may hold a finished run's result back. */
class ObservedPool extends RsyncPool {
  now = 0;
  mostAtOnce = 0;
  private starts: ((task: RsyncTask) => void)[] = [];
  private listings: ((paths: readonly RelPath[]) => void)[] = [];
  /** Runs matching it hand their result back only when `release` is called. */
  hold: ((task: RsyncTask) => boolean) | null = null;
  private held: (() => void)[] = [];

  override async run(
    task: RsyncTask,
    subject?: ProgressSubject,
    onListed?: (paths: readonly RelPath[]) => void,
  ): Promise<RsyncResult> {
    this.now++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.now);
    for (const s of this.starts.splice(0)) s(task);
    const listed =
      onListed === undefined
        ? undefined
        : (paths: readonly RelPath[]): void => {
            onListed(paths);
            for (const l of this.listings.splice(0)) l(paths);
          };
    try {
      const r = await super.run(task, subject, listed);
      if (this.hold?.(task) === true) await new Promise<void>((resolve) => this.held.push(resolve));
      return r;
    } finally {
      this.now--;
    }
  }

  /** Resolves when the next run starts. */
  nextStart(): Promise<RsyncTask> {
    return new Promise((resolve) => this.starts.push(resolve));
  }

  /** Resolves when the next run's walks have listed what it sends. */
  nextListing(): Promise<readonly RelPath[]> {
    return new Promise((resolve) => this.listings.push(resolve));
  }

  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

let daemon: RsyncDaemon;
let pool: ObservedPool;
before(async () => {
  daemon = await startRsyncDaemon();
  pool = new ObservedPool(4);
});
after(async () => {
  await pool.close();
  await disposeRsyncDaemon(daemon);
});

function withLane(body: (rig: LaneRig) => Promise<void>, sideSettleMs?: number): Promise<void> {
  pool.mostAtOnce = 0;
  pool.hold = null;
  return withDaemonLane(
    daemon,
    pool,
    { depth: 2, ...(sideSettleMs === undefined ? {} : { sideSettleMs }) },
    body,
  );
}

function fill(dir: string, files: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `f${i}`), `${dir} ${i}`);
}

test('lane: once the walk in flight has listed its files, new files and directories go beside it; a listed file changed since waits for it', async () => {
  await withLane(async ({ root, lane, reports, nextReport }) => {
    fill(join(root, 'd0'), 200);
    pool.hold = (task) => task.input?.kind === 'files' && task.input.trees.includes('d0');
    const listing = pool.nextListing();
    lane.push({ kind: 'tree', path: 'd0' });
    const listed = await listing;
    assert.equal(listed.length, 201, 'd0 and its 200 files');
    // d0's run is in flight: a listed file rewritten (waits), a new file and a new directory (go beside).
    writeFileSync(join(root, 'd0/f1'), 'rewritten');
    lane.push({ kind: 'sync', path: 'd0/f1' });
    writeFileSync(join(root, 'd0/late'), 'late');
    lane.push({ kind: 'new', path: 'd0/late' });
    lane.push({ kind: 'sync', path: 'd0/late' });
    fill(join(root, 'd1'), 3);
    lane.push({ kind: 'tree', path: 'd1' });
    await nextReport();
    assert.equal(pool.mostAtOnce, 2, 'two batches in flight at once');
    assert.deepEqual(
      reports.map((r) => r.ops.map((op) => op.path)),
      [['d0/late', 'd1']],
    );
    pool.release();
    pool.hold = null;
    await lane.idle();
    assert.equal(treeDiff(root, daemon.dir), '');
    assert.deepEqual(
      reports.map((r) => r.ops.map((op) => op.path)),
      [['d0/late', 'd1'], ['d0'], ['d0/f1']],
      'd0/f1 went only after the batch carrying d0 landed',
    );
  });
});

test('lane: a directory listed by an older batch that lands after a newer one is sent again (its newest attributes win)', async () => {
  await withLane(async ({ root, lane, reports, nextReport }) => {
    fill(join(root, 'a'), 1);
    const first = pool.nextStart();
    pool.hold = (task) => task.input?.kind === 'files' && task.input.paths.includes('a/f0');
    lane.push({ kind: 'sync', path: 'a/f0' });
    await first;
    writeFileSync(join(root, 'a/g'), 'g');
    lane.push({ kind: 'new', path: 'a/g' });
    const beside = pool.nextStart();
    lane.push({ kind: 'sync', path: 'a/g' });
    const besideLanded = nextReport();
    await beside;
    await besideLanded;
    pool.release();
    pool.hold = null;
    await lane.idle();
    assert.deepEqual(
      reports.map((r) => r.ops.map((op) => op.path)),
      [['a/g'], ['a/f0'], ['a']],
      'a is sent again after the older batch landed last',
    );
    assert.equal(treeDiff(root, daemon.dir), '');
  });
});

test(
  'lane: changes gather for sideSettleMs before a batch goes beside another; once that one lands they go at once',
  { timeout: 30_000 },
  async () => {
    await withLane(async ({ root, lane, reports }) => {
      fill(join(root, 'a'), 1);
      fill(join(root, 'b'), 1);
      const first = pool.nextStart();
      pool.hold = (task) => task.input?.kind === 'files' && task.input.paths.includes('a/f0');
      lane.push({ kind: 'sync', path: 'a/f0' });
      await first;
      lane.push({ kind: 'sync', path: 'b/f0' });
      // Nothing to await for a batch that must not start: a window far longer than the lane's 1 ms settle.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(pool.mostAtOnce, 1, 'b/f0 waits: the side settle (60 s here) has not passed');
      pool.release();
      pool.hold = null;
      await lane.idle(); // within the test's timeout: b/f0 went as soon as a/f0 landed
      assert.deepEqual(
        reports.map((r) => r.ops.map((op) => op.path)),
        [['a/f0'], ['b/f0']],
      );
      assert.equal(treeDiff(root, daemon.dir), '');
    }, 60_000);
  },
);
