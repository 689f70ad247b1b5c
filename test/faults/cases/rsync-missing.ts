/**
 * rsync that cannot be started. No rsync on PATH (not installed yet, or gone in an upgrade): each
 * run fails with 127, "cannot run rsync", on both roads: the helper's exec, and the spawn of an
 * install whose helper was not built. sersync2 out of file descriptors (its limit lowered while it
 * runs, as a leak or a low LimitNOFILE= leaves it): the same 127, with the true cause, never "not
 * installed" nor a vanished root. Neither is the remote's fault: it is not taken for a lost remote
 * (probed every 2 s, its backlog sent each time the daemon answers, and the tree resynced once rsync
 * runs again); its rows are tried every 5 s, status and /metrics show it while it lasts, and once
 * rsync starts again the replica converges.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueRow } from '../../../src/queue/types.js';
import type { DaemonStatus } from '../../../src/daemon/status.js';
import { disposeRsyncDaemon, freePort, startRsyncDaemon, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { installWithoutConfineHelper } from '../../helpers/sersync.js';
import { eventually } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import { mountUnavailable } from './watch-health.js';
import type { CaseResult } from './result.js';

export async function rsyncMissing(work: string): Promise<CaseResult> {
  const real = spawnSync('sh', ['-c', 'command -v rsync'], { encoding: 'utf8' }).stdout.trim();
  const bin = mkdtempSync(join(work, 'no-rsync-'));
  const env = { PATH: bin };
  const daemons = [await startRsyncDaemon(), await startRsyncDaemon()] as const;
  const confined = Rig.create(work, { daemon: daemons[0] });
  const bare = Rig.create(work, { daemon: daemons[1] });
  const cli = installWithoutConfineHelper(mkdtempSync(join(work, 'no-helper-')));
  try {
    await Promise.all([confined.start([], { env }), bare.start([], { env, cli })]);
    for (const rig of [confined, bare]) writeFileSync(join(rig.src, 'a.txt'), 'a');
    for (const [rig, road] of [
      [confined, 'through the helper'],
      [bare, 'without the helper'],
    ] as const) {
      let rows: QueueRow[] = [];
      await eventually(
        () => (rows = rig.queued()).some((r) => r.exitCode !== null),
        15_000,
        `a failed run ${road}`,
      );
      for (const row of rows.filter((r) => r.exitCode !== null)) {
        assert.equal(row.exitCode, 127, `${road}: ${row.lastError ?? ''}`);
        assert.match(row.lastError ?? '', /cannot run rsync/);
      }
      assert.match(rig.status().pool.cannotStart?.why ?? '', /cannot run rsync/, `${road}: status`);
    }
    symlinkSync(real, join(bin, 'rsync'));
    await Promise.all([
      confined.converged(20_000, 'rsync back, through the helper'),
      bare.converged(20_000, 'rsync back, without the helper'),
    ]);
    for (const rig of [confined, bare]) {
      assert.deepEqual(
        rig.logLines('remote answers again: sending its backlog'),
        [],
        'taken for a lost remote',
      );
      assert.deepEqual(rig.logLines(/the remote answers again after a loss/), []);
    }
    return { faults: 2, files: confined.files() + bare.files(), lost: 0 };
  } finally {
    await Promise.all([confined.stop(), bare.stop()]);
    await Promise.all(daemons.map((d) => disposeRsyncDaemon(d)));
  }
}

/** The soft limit on open files of process `pid` (its hard limit is left as it is). */
function setFileLimit(pid: number, soft: number): void {
  const r = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `prlimit: ${r.stderr}`);
}

function softFileLimit(pid: number): number {
  const line = /^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  assert.ok(line !== null, `no open-file limit in /proc/${pid}/limits`);
  return Number(line[1]);
}

/** The soft limit on open files that leaves `pid` exactly `spare` descriptor numbers free. */
function limitLeaving(spare: number, pid: number): number {
  const used = new Set(readdirSync(`/proc/${pid}/fd`).map(Number));
  let limit = 0;
  for (let free = 0; free < spare; limit++) if (!used.has(limit)) free++;
  return limit;
}

/** What the running daemon says, or null while it cannot answer (out of descriptors itself). */
function statusNow(rig: Rig): DaemonStatus | null {
  try {
    return rig.status();
  } catch {
    return null;
  }
}

export async function descriptorsExhausted(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  // Where mount(2) is allowed, a file system in the tree: the mount table, unreadable meanwhile,
  // must not make it look unmounted, and then mounted again.
  const mounted = mountUnavailable() === undefined ? join(rig.src, 'mounted') : null;
  if (mounted !== null) {
    const disk = mkdtempSync(join(work, 'disk-'));
    writeFileSync(join(disk, 'on-the-disk.txt'), 'on the disk');
    mkdirSync(mounted);
    const r = spawnSync('mount', ['--bind', disk, mounted], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const proc = await rig.start(['-r']); // what was there before the start goes too
  const pid = proc.child.pid ?? 0;
  const limit = softFileLimit(pid);
  try {
    writeFileSync(join(rig.src, 'before.txt'), 'before');
    await rig.converged(20_000, 'before the limit');
    // A new descriptor takes the lowest free number, and the limit bounds that number. First
    // none to spare for a while (Node's own take 0–9 for good): the root's look each second cannot
    // open it, nor can a run open the directory it starts in. Then a few: a status request gets in
    // (its connection, the mount table), no rsync does (the directory it starts in, three pipes and
    // the exec's own).
    await eventually(() => statusNow(rig)?.pool.inFlight === 0, 10_000, 'no rsync running');
    setFileLimit(pid, 10);
    for (const name of ['one.txt', 'two.txt']) writeFileSync(join(rig.src, name), name);
    await new Promise((r) => setTimeout(r, 2500));
    // It cannot take a status request now: it runs, so `status` says it cannot tell (exit 4), why
    // it may be, and never that none runs (exit 1).
    const unanswered = rig.cli(['status']);
    assert.equal(unanswered.status, 4, unanswered.stdout + unanswered.stderr);
    assert.match(
      unanswered.stderr,
      /(?:closed the connection without answering|did not answer on .* within \d+ ms) .*out of file descriptors/,
    );
    setFileLimit(pid, limitLeaving(4, pid));
    let seen: DaemonStatus | null = null;
    await eventually(
      () => (seen = statusNow(rig))?.pool.cannotStart != null,
      20_000,
      'status shows that rsync cannot be started',
    );
    // A run made now: the descriptor it starts in opens, its pipes do not.
    const before = (seen as DaemonStatus | null)?.pool.cannotStart?.runs ?? 0;
    writeFileSync(join(rig.src, 'three.txt'), 'three');
    await eventually(
      () => ((seen = statusNow(rig))?.pool.cannotStart?.runs ?? 0) > before,
      20_000,
      'a run failing for want of pipes is told as the others',
    );
    const status = seen as DaemonStatus | null;
    assert.match(status?.pool.cannotStart?.why ?? '', /EMFILE/, 'the cause, not "not installed"');
    assert.doesNotMatch(status?.pool.cannotStart?.why ?? '', /not installed|setEncoding/);
    const [remote] = status?.remotes ?? [];
    assert.match(remote?.lastError ?? '', /cannot run rsync: .*EMFILE/);
    assert.deepEqual(
      status?.trees.map((t) => t.degraded),
      [[]],
      'the tree is still watched: its root did not "vanish"',
    );
    const rows = rig.queued();
    assert.ok(rows.length > 0 && rows.every((r) => r.exitCode === 127), 'the changes wait in the queue');
    let problem: number | undefined;
    await eventually(
      async () => (problem = await rig.metric('sersync_rsync_problem', {}).catch(() => undefined)) === 1,
      10_000,
      `/metrics: sersync_rsync_problem 1 (last read ${problem})`,
    );
    setFileLimit(pid, limit);
    await rig.converged(30_000, 'the limit raised again');
    assert.equal(rig.status().pool.cannotStart, null, 'status: rsync starts again');
    assert.equal(await rig.metric('sersync_rsync_problem', {}), 0);
    assert.deepEqual(rig.logLines(/watched directory vanished|file system (was )?mounted in the tree/), []);
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    if (rig.proc !== null) setFileLimit(pid, limit);
    await rig.stop();
    if (mounted !== null) spawnSync('umount', [mounted]);
  }
}
