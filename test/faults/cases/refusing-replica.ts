import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import {
  disposeRsyncDaemon,
  freePort,
  holdModuleSlot,
  startRsyncDaemon,
  type RsyncDaemon,
} from '../../helpers/rsyncd.js';
import { eventually } from '../../helpers/trees.js';
import { editDaemonConf } from '../lib/daemon-conf.js';
import { Rig, type JsonRow } from '../lib/rig.js';
import type { CaseResult } from './result.js';

const READ_ONLY = 'read only = yes';

/**
 * The replica refuses writes (a read-only module): every change waits in the queue with
 * rsync's own message; once the module is writable again, `queue retry --all` sends it all.
 */
export async function refusingReplica(work: string, files: number): Promise<CaseResult> {
  const daemon = await startRsyncDaemon({ moduleLines: [READ_ONLY] });
  const rig = Rig.create(work, { daemon });
  try {
    await rig.start();
    mkdirSync(join(rig.src, 'd'));
    for (let i = 0; i < files; i++) writeFileSync(join(rig.src, 'd', `f${i}`), `refused ${i}`);
    await eventually(
      () => rig.queued().some((r) => r.op.path === 'd' || r.op.path.startsWith('d/')),
      15_000,
      'queued rows',
    );
    for (const row of rig.queue())
      assert.match(row.lastError ?? '(in flight)', /ERROR: module is read only|in flight/);
    assert.deepEqual(readdirSync(daemon.dir), [], 'a read-only replica received something');
    editDaemonConf(daemon, (conf) => conf.replace(`  ${READ_ONLY}\n`, ''));
    const r = rig.cli(['queue', 'retry', '--all']);
    assert.equal(r.status, 0, r.stderr);
    await rig.converged(15_000, 'after the module became writable');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * The daemon is busy: its module's `max connections` are taken, so it answers `@ERROR: max
 * connections (1) reached -- try again later` (exit 5, the code of a refused login). The rows wait
 * with that line, the log calls the failure `retry`, not `final` (nothing for the operator to fix),
 * and once the slot is free the queue's own retry sends them, with no `queue retry`.
 */
export async function busyDaemon(work: string): Promise<CaseResult> {
  const base = join(work, `busy-${process.pid}`);
  mkdirSync(base, { recursive: true });
  const daemon = await startRsyncDaemon({
    moduleLines: ['max connections = 1', `lock file = ${join(base, 'rsyncd.lock')}`],
  });
  const rig = Rig.create(work, { daemon });
  let slot: Socket | null = null;
  try {
    await rig.start();
    slot = await holdModuleSlot(daemon);
    mkdirSync(join(rig.src, 'd'));
    for (let i = 0; i < 20; i++) writeFileSync(join(rig.src, 'd', `f${i}`), `busy ${i}`);
    await eventually(
      () => rig.queued().some((r) => /max connections \(1\) reached/.test(r.lastError ?? '')),
      15_000,
      'rows refused by a busy daemon',
    );
    // The row is written before the log line that reports it.
    let failed: Record<string, unknown>[] = [];
    await eventually(
      () => (failed = rig.logLines('sync failed, queued for retry')).length > 0,
      5_000,
      'the failure logged',
    );
    for (const line of failed) {
      assert.equal(line.exitCode, 5);
      assert.equal(
        line.outcome,
        'retry',
        `a busy daemon is not the operator's to fix: ${JSON.stringify(line)}`,
      );
    }
    assert.deepEqual(readdirSync(daemon.dir), [], 'a busy daemon received something');
    slot.destroy();
    await rig.converged(20_000, 'once the slot was free, by the queue alone');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    slot?.destroy();
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * A daemon with `max connections = 1` whose process holds the slot a while after each transfer
 * (a `post-xfer exec` that takes half a second, as a backup server's hook may): every change that
 * comes right after the last one arrived finds the slot taken. Each such run goes again after a
 * short wait and arrives; nothing fails or waits in the queue, and status, its note and /metrics
 * count the refusals with the module's limit, the log says it once.
 */
export async function busyBetweenRuns(work: string): Promise<CaseResult> {
  const base = join(work, `busy-between-${process.pid}`);
  mkdirSync(base, { recursive: true });
  const daemon = await startRsyncDaemon({
    moduleLines: [
      'max connections = 1',
      `lock file = ${join(base, 'rsyncd.lock')}`,
      'post-xfer exec = /bin/sleep 0.5',
    ],
  });
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    await rig.start();
    for (let i = 0; i < 3; i++) {
      const name = `f${i}`;
      writeFileSync(join(rig.src, name), `between ${i}`);
      // On the replica, so its daemon process is in its post-xfer exec now, holding the slot.
      await eventually(() => existsSync(join(rig.replica, name)), 15_000, `${name} on the replica`);
    }
    await rig.converged(15_000, 'changes refused as busy, each run again');
    assert.deepEqual(rig.logLines('sync failed, queued for retry'), [], 'a busy refusal failed a batch');
    const [remote] = rig.status().remotes;
    assert.ok(remote !== undefined && remote.daemonBusy >= 2, `daemonBusy ${remote?.daemonBusy}`);
    assert.equal(remote.lastDaemonBusy?.limit, 1);
    assert.match(
      rig.cli(['status']).stdout,
      /^note: \S+ refused \d+ rsync runs as busy \(rsyncd\.conf max connections = 1; the last .*\): each went again after a short wait/m,
    );
    assert.equal(
      await rig.metric('sersync_daemon_busy_total', { root: rig.src, remote: remote.remote }),
      remote.daemonBusy,
    );
    assert.equal(rig.logLines(/refused a run as busy/).length, 1, 'said once');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * The replica's receiver refuses a file that the source has (`-K` and a replica directory that is
 * a link out of the module: rsync's generator says "Too many levels of symbolic links", or
 * "Invalid cross-device link" in Debian's patched 3.2.7; exit 23). It did not arrive, so it waits in the queue with that line; it is not taken for a source
 * that vanished. Once the link is gone and retried, it converges.
 */
export async function receiverRefusesThroughLink(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, spec: { params: '-artuzK' } });
  const outside = join(rig.base, 'outside');
  const link = join(rig.replica, 'd');
  try {
    mkdirSync(outside);
    symlinkSync(outside, link);
    mkdirSync(join(rig.src, 'd'));
    await rig.start();
    writeFileSync(join(rig.src, 'd', 'f'), 'must arrive');
    await eventually(() => rig.queued().some((r) => r.attempts > 0), 15_000, 'a failed row');
    const rows = rig.queue();
    assert.ok(rows.length > 0);
    // rsync 3.5 says ELOOP; Debian's patched 3.2.7 says EXDEV: either way its generator refused.
    for (const row of rows)
      assert.match(row.lastError ?? '', /Too many levels of symbolic links|Invalid cross-device link/);
    assert.equal(existsSync(join(outside, 'f')), false, "written through the replica's link");
    rmSync(link);
    const r = rig.cli(['queue', 'retry', '--all']);
    assert.equal(r.status, 0, r.stderr);
    await rig.converged(15_000, "after the replica's link was removed");
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/** Writes ten small files into the source, named by `name`; returns their paths. */
function writeTen(rig: Rig, name: (i: number) => string): string[] {
  return Array.from({ length: 10 }, (_, i) => {
    const path = name(i);
    writeFileSync(join(rig.src, path), `small file ${path}`);
    return path;
  });
}

/** The uid and gid a daemon's module runs as when none is set (rsyncd's default as root). */
const NOBODY = 65534;

/** The replica's `dir` given back to the daemon's `nobody` and the queue retried: it converges. */
async function givenBackConverges(rig: Rig, dir: string, what: string): Promise<void> {
  chownSync(dir, NOBODY, NOBODY);
  assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
  await rig.converged(15_000, what);
}

/** Waits until every one of `paths` is on the daemon's replica. */
/**
 * A new directory written while the module is read-only waits in the queue; the module writable
 * again and the queue retried, it is sent again from there (a tree put back prunes first).
 */
async function sentAgainFromQueue(rig: Rig, daemon: RsyncDaemon, dir: string): Promise<void> {
  editDaemonConf(daemon, (conf) => conf.replace('read only = no', 'read only = yes'));
  mkdirSync(join(rig.src, dir));
  writeFileSync(join(rig.src, dir, 'a.txt'), 'sent from the queue');
  await eventually(
    () => rig.queue().some((r) => r.op.path === dir && /read only/.test(r.lastError ?? '')),
    15_000,
    'the new directory waits while the module is read-only',
  );
  editDaemonConf(daemon, (conf) => conf.replace('read only = yes', 'read only = no'));
  assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
  await allOnReplica(daemon, [`${dir}/a.txt`], 15_000, 'the directory sent again from the queue');
}

/**
 * A daemon module written as a path (`<remote ip="…" name="/replica"/>`, as published tutorials
 * have it): rsync refuses `host::/replica` before connecting (exit 5). The start warns at the
 * config's line; each change waits in the queue with rsync's line, the log says `final` (the
 * operator must act), status and /metrics show it while it lasts. With the name fixed, the stale
 * rows dropped and a start with `-r`, it converges.
 */
export async function moduleNamedAsPath(work: string): Promise<CaseResult> {
  const daemon = await startRsyncDaemon();
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const named = (name: string): void => {
    const xml = readFileSync(rig.config, 'utf8');
    writeFileSync(rig.config, xml.replace(/(<remote ip="127\.0\.0\.1"[^>]* name=")[^"]*"/, `$1${name}"`));
  };
  const refusal = /The remote path must start with a module name not a \//;
  try {
    named(`/${daemon.module}`);
    await rig.start();
    assert.match(
      rig.running.stderr(),
      /confxml\.xml:\d+:\d+: .*name="\/replica" starts with "\/": rsync refuses the daemon destination/,
      'the start warns at the line',
    );
    writeFileSync(join(rig.src, 'f'), 'must arrive');
    await onlyRowWaits(rig, 'f', refusal, "the change waits with rsync's line");
    await waitingShown(rig, 1, refusal);
    const [failed] = rig.logLines('sync failed, queued for retry');
    assert.equal(failed?.exitCode, 5);
    assert.equal(failed.outcome, 'final', 'the operator must fix the config');
    assert.match(rig.cli(['status']).stdout, /LAST FAILURE/);
    const [remote] = rig.status().remotes;
    assert.ok((remote?.failedBatches ?? 0) >= 1);
    assert.equal(
      await rig.metric('sersync_failed_batches_total', { root: rig.src, remote: remote?.remote ?? '' }),
      remote?.failedBatches,
    );
    assert.deepEqual(readdirSync(daemon.dir), []);
    await rig.stop();
    named(daemon.module);
    assert.equal(rig.cli(['queue', 'drop', '--all', '--yes']).status, 0);
    await rig.start(['-r']);
    await rig.converged(15_000, 'the module named, the stale rows dropped, a full sync');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/** Waits until the queue holds one row, `path`'s, whose last error matches `error`. */
async function onlyRowWaits(rig: Rig, path: string, error: RegExp, what: string): Promise<void> {
  await eventually(
    () => {
      const rows = rig.queue();
      return rows.length === 1 && rows[0]?.op.path === path && error.test(rows[0].lastError ?? '');
    },
    15_000,
    what,
  );
}

/** While rows wait, `status` and `/metrics` count them, and `status` shows the last error. */
async function waitingShown(rig: Rig, rows: number, error: RegExp): Promise<void> {
  const [remote] = rig.status().remotes;
  assert.ok(remote !== undefined);
  assert.match(remote.lastError ?? '', error);
  assert.equal(remote.queuedRetries, rows);
  assert.equal(
    await rig.metric('sersync_retry_queue_operations', { root: rig.src, remote: remote.remote }),
    rows,
  );
}

async function allOnReplica(
  daemon: RsyncDaemon,
  paths: readonly string[],
  ms: number,
  what: string,
): Promise<void> {
  await eventually(() => paths.every((p) => existsSync(join(daemon.dir, p))), ms, what);
}

/** `mount -o remount,size=SIZE` of the replica's tmpfs. */
function resize(dir: string, size: string): void {
  const r = spawnSync('mount', ['-o', `remount,size=${size}`, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/**
 * Waits until the retry queue's rows, as `path: error` lines (rsync's temporary names as
 * `.NAME.XXXXXX`), are `want` and perhaps some of `maybe`; says what they were if not.
 */
async function rowsBecome(
  rig: Rig,
  want: readonly string[],
  what: string,
  maybe: readonly string[] = [],
): Promise<void> {
  let rows: string[] = [];
  await eventually(
    () => {
      rows = rig
        .queue()
        .map(
          (r) =>
            `${r.op.path}: ${(r.lastError ?? '(in flight)').replace(/(\/\.[^/"]+)\.\w{6}"/, '$1.XXXXXX"')}`,
        )
        .sort();
      return rows.filter((r) => !maybe.includes(r)).join('\n') === want.join('\n');
    },
    20_000,
    what,
  ).catch((err: unknown) => {
    const log = rig.running.stderr().split('\n').slice(-20).join('\n');
    throw new Error(
      `${(err as Error).message}; the rows were:\n${rows.join('\n')}\nsersync2's last log lines:\n${log}`,
      {
        cause: err,
      },
    );
  });
}

/**
 * The replica's disk has less room than one large file (a backup server's disk nearly full, a
 * quota, FAT's 4 GiB limit): rsync's receiver refuses it and stops the run (exit 11), so every
 * file after it in the batch stayed behind, and each retry stopped at the same file. sersync, one
 * run per change, had them arrive. Now the refused file waits alone in the queue, with its own
 * line, status and /metrics show it while it lasts, and the rest arrives, from events and from the
 * full sync of a start; once there is room, `queue retry` sends it.
 */
export async function replicaDiskFull(work: string): Promise<CaseResult> {
  // chrooted, as rsyncd is by default as root: its receiver names files `/a-big.bin` then
  const daemon = await startRsyncDaemon({ chroot: true });
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const mounted = spawnSync(
    'mount',
    ['-t', 'tmpfs', '-o', 'size=4m,mode=755', 'sersync-replica-disk', daemon.dir],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(mounted.status, 0, mounted.stderr);
  const big = (path: string, mib: number): void =>
    writeFileSync(join(rig.src, path), Buffer.alloc(mib << 20, 7));
  try {
    await rig.start();
    // A large file sorted first, small files after it, and a new directory likewise.
    big('a-big.bin', 6);
    const smalls = writeTen(rig, (i) => `s-${i}.txt`);
    mkdirSync(join(rig.src, 'up'));
    big('up/a-video.bin', 6);
    smalls.push(...writeTen(rig, (i) => `up/thumb-${i}.jpg`));
    await allOnReplica(
      daemon,
      smalls,
      20_000,
      'the small files past a large one the replica has no room for',
    );
    const refused = (f: string) =>
      `${f}: rsync: [receiver] write failed on "/${f}" (in replica): No space left on device (28)`;
    await rowsBecome(
      rig,
      [refused('a-big.bin'), refused('up/a-video.bin')],
      'each large file waits alone, with its own line',
    );
    const [remote] = rig.status().remotes;
    assert.ok(remote !== undefined);
    assert.equal(remote.queuedRetries, 2);
    assert.match(remote.lastError ?? '', /write failed on ".*a-(big|video)\.bin" .*No space left on device/);
    const labels = { root: rig.src, remote: remote.remote };
    assert.equal(await rig.metric('sersync_retry_queue_operations', labels), 2);

    resize(daemon.dir, '64m');
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
    await rig.converged(20_000, 'with room on the replica');

    // A start's full sync meets a file larger than the room left while it was stopped.
    await rig.stop();
    resize(daemon.dir, '16m');
    big('0-huge.bin', 8);
    const whileStopped = writeTen(rig, (i) => `z-${i}.txt`);
    await rig.start(['-r']);
    await allOnReplica(
      daemon,
      whileStopped,
      20_000,
      "the full sync's files past one the replica has no room for",
    );
    await rowsBecome(rig, [refused('0-huge.bin')], 'the huge file waits alone');
    assert.notEqual(rig.status().fullSync.lastAt, null, 'the full sync counts as done');
    // The operator makes room by removing it from the source; its row then sends nothing.
    rmSync(join(rig.src, '0-huge.bin'));
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
    await rig.converged(20_000, 'the huge file removed');
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await daemon.stop();
    if (spawnSync('umount', [daemon.dir]).status !== 0) spawnSync('umount', ['-l', daemon.dir]);
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * A daemon that refuses deletions (`refuse options = delete`, set by admins who keep every file a
 * source ever had) while sersync's `<delete start="true">` is on. The removal of a batch ran
 * first, failed, and the batch stopped there: the files created beside it never arrived, each row
 * blamed on the connection reset that follows the refusal. sersync ran each apart, so its sends
 * arrived. Now the sends go, the removal waits with the daemon's own line, and once the refusal is
 * lifted it converges. A start's full sync goes without --delete (sersync's was refused whole).
 */
export async function refusedRemovals(work: string): Promise<CaseResult> {
  const REFUSE = 'refuse options = delete';
  const daemon = await startRsyncDaemon({ moduleLines: [REFUSE] });
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    await rig.start();
    writeFileSync(join(rig.src, 'old.txt'), 'removed while the daemon refuses removals');
    await eventually(() => existsSync(join(daemon.dir, 'old.txt')), 15_000, 'the first file');
    rmSync(join(rig.src, 'old.txt'));
    mkdirSync(join(rig.src, 'up'));
    const beside = writeTen(rig, (i) => `up/new-${i}.txt`);
    await allOnReplica(daemon, beside, 15_000, 'the files created beside a refused removal');
    const refused = 'rsync: The server is configured to refuse --delete';
    await rowsBecome(rig, [`old.txt: ${refused}`], 'the removal waits alone, with the reason');
    // The batch's line says what arrived and what waits, not that it failed.
    const inPart = 'synced in part: what failed is queued for retry';
    await eventually(() => rig.logLines(inPart).length > 0, 15_000, 'the batch logged as synced in part');
    const partly = rig.logLines(inPart).at(0) ?? {};
    assert.equal(partly.failedOperations, 1);
    assert.ok(Number(partly.operations) > 1);
    const [remote] = rig.status().remotes;
    assert.ok(remote !== undefined);
    assert.equal(remote.lastError, refused);
    assert.equal(
      await rig.metric('sersync_retry_queue_operations', { root: rig.src, remote: remote.remote }),
      1,
    );
    // A directory sent whole again from the queue prunes the replica's copy first; such a daemon
    // refuses that too, by its policy: the directory arrives and leaves the queue, said once.
    await sentAgainFromQueue(rig, daemon, 'late');
    await rowsBecome(rig, [`old.txt: ${refused}`], 'the directory leaves the queue; the removal still waits');
    assert.equal(rig.logLines(/refuses removals: what a new directory's copy holds/).length, 1, 'said once');
    // While removals stay refused, status and /metrics say what may stay on the replica.
    const unpruned = rig.status().remotes[0];
    assert.ok(unpruned !== undefined && unpruned.pruneRefused >= 1);
    assert.equal(unpruned.lastPruneRefused?.path, 'late');
    assert.match(
      rig.cli(['status']).stdout,
      /^note: \S+ refuses removals \(rsyncd\.conf refuse options\): \d+ new director(y|ies) sent whole not pruned \(the last "late", .*\): what their copies hold that the source has not stays on it$/m,
    );
    assert.equal(
      await rig.metric('sersync_prune_refused_total', { root: rig.src, remote: unpruned.remote }),
      unpruned.pruneRefused,
    );
    editDaemonConf(daemon, (conf) => conf.replace(`  ${REFUSE}\n`, ''));
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
    await rig.converged(15_000, 'removals allowed again');
    // A full sync carries --delete, which such a daemon refuses; sersync's was refused whole and what
    // changed while it was stopped never arrived. It goes without --delete: the new file arrives, the
    // one removed while stopped stays, and status and /metrics say so while it lasts.
    await rig.stop();
    editDaemonConf(daemon, (conf) => conf.replace('[replica]\n', `[replica]\n  ${REFUSE}\n`));
    const restarted = Date.now();
    writeFileSync(join(rig.src, 'while-stopped.txt'), 'for the full sync');
    rmSync(join(rig.src, 'up', 'new-0.txt'));
    await rig.start(['-r']);
    await eventually(() => existsSync(join(daemon.dir, 'while-stopped.txt')), 15_000, 'the full sync sent');
    await eventually(() => (rig.status().fullSync.lastAt ?? 0) >= restarted, 15_000, 'the full sync done');
    assert.deepEqual(rig.queue(), [], 'nothing waits');
    assert.ok(existsSync(join(daemon.dir, 'up', 'new-0.txt')), 'kept by the daemon, as its policy asks');
    const kept = rig.status().remotes[0];
    assert.ok(kept !== undefined);
    assert.equal(kept.fullSyncRemovals?.refused, true);
    assert.match(
      rig.cli(['status']).stdout,
      /^note: \S+ refuses removals \(rsyncd\.conf refuse options\): full syncs go without --delete \(the last .*\): what was removed from the tree while sersync2 was stopped stays on it$/m,
    );
    const labels = { root: rig.src, remote: kept.remote };
    assert.equal(await rig.metric('sersync_full_sync_removals_refused', labels), 1);
    assert.equal(rig.logLines(/refuses --delete \(its refuse options\): full syncs go without it/).length, 1);
    // A removal refused meanwhile still waits after such a full sync: it did not carry it.
    rmSync(join(rig.src, 'up', 'new-1.txt'));
    await rowsBecome(rig, [`up/new-1.txt: ${refused}`], 'the removal waits');
    const before = rig.status().fullSync.lastAt ?? 0;
    assert.equal(rig.cli(['resync']).status, 0);
    await eventually(() => (rig.status().fullSync.lastAt ?? 0) > before, 15_000, 'the full sync done');
    await rowsBecome(rig, [`up/new-1.txt: ${refused}`], 'the removal still waits');
    // Once the daemon takes removals, the next full sync removes it, and the signal clears.
    await rig.stop();
    editDaemonConf(daemon, (conf) => conf.replace(`  ${REFUSE}\n`, ''));
    await rig.start(['-r']);
    await rig.converged(15_000, 'the full sync with removals again');
    await eventually(() => rig.status().remotes[0]?.fullSyncRemovals?.refused === false, 15_000, 'cleared');
    assert.equal(await rig.metric('sersync_full_sync_removals_refused', labels), 0);
    return { faults: 2, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * The replica cannot take some files of a batch: its daemon runs as `nobody` and one directory on
 * it is root's (an admin's restore, a leftover of another tool). rsync sends the rest and ends
 * with exit 23; every row of the batch stayed queued, blamed on that one file, and each retry sent
 * the whole batch again. Now only the file the replica refused waits, with rsync's line about it;
 * status and /metrics count that one; once the directory is writable it goes.
 */
export async function replicaRefusesSomeFiles(work: string): Promise<CaseResult> {
  const daemon = await startRsyncDaemon({ moduleLines: [`uid = ${NOBODY}`, `gid = ${NOBODY}`] });
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    chownSync(daemon.dir, NOBODY, NOBODY);
    mkdirSync(join(rig.src, 'locked'));
    mkdirSync(join(rig.src, 'open'));
    await rig.start(['-r']);
    await rig.converged(15_000, 'the first full sync');
    chownSync(join(daemon.dir, 'locked'), 0, 0);
    writeFileSync(join(rig.src, 'locked', 'x.txt'), 'where the replica cannot write');
    const beside = writeTen(rig, (i) => `open/f-${i}.txt`);
    await allOnReplica(daemon, beside, 15_000, 'the files the replica can take');
    await rowsBecome(
      rig,
      [
        'locked/x.txt: rsync: [receiver] mkstemp "locked/.x.txt.XXXXXX" (in replica) failed: Permission denied (13)',
      ],
      'only the refused file waits',
      // when rsync set the directory's times along (their own row; the file in it is the refusal)
      [
        'locked: rsync: [generator] failed to set times on "locked" (in replica): Operation not permitted (1)',
      ],
    );
    const queued = rig.queue().length;
    const [remote] = rig.status().remotes;
    assert.ok(remote !== undefined);
    assert.equal(remote.queuedRetries, queued);
    assert.equal(
      await rig.metric('sersync_retry_queue_operations', { root: rig.src, remote: remote.remote }),
      queued,
    );
    await givenBackConverges(rig, join(daemon.dir, 'locked'), 'the directory writable again');
    // A full sync (`-r`) the replica takes but for a file, a new directory, a removal and the times
    // of their parent: it counts as done, its other removals happen, and only those wait, each with
    // rsync's line.
    await rig.stop();
    const restarted = Date.now();
    chownSync(join(daemon.dir, 'locked'), 0, 0);
    writeFileSync(join(rig.src, 'locked', 'y.txt'), 'written while stopped');
    mkdirSync(join(rig.src, 'locked', 'new'));
    writeFileSync(join(rig.src, 'locked', 'new', 'z.txt'), 'below a directory the replica cannot make');
    writeFileSync(join(daemon.dir, 'open', 'stale.txt'), 'only on the replica');
    writeFileSync(join(daemon.dir, 'locked', 'old.txt'), 'only on the replica, where it cannot remove');
    const whileStopped = writeTen(rig, (i) => `open/g-${i}.txt`);
    await rig.start(['-r']);
    await allOnReplica(daemon, whileStopped, 15_000, 'the full sync past what the replica refuses');
    await rowsBecome(
      rig,
      [
        'locked/new: rsync: [generator] recv_generator: mkdir "locked/new" (in replica) failed: Permission denied (13)',
        'locked/old.txt: rsync: [generator] delete_file: unlink(locked/old.txt) failed: Permission denied (13)',
        'locked/y.txt: rsync: [receiver] mkstemp "locked/.y.txt.XXXXXX" (in replica) failed: Permission denied (13)',
      ],
      'only what the replica refused waits',
      [
        'locked: rsync: [generator] failed to set times on "locked" (in replica): Operation not permitted (1)',
      ],
    );
    // The directory it could not make goes whole (rsync skipped what is below it unnamed); the file
    // it could not remove waits as its removal.
    const kinds = rig
      .queue()
      .map((r) => `${r.op.kind} ${r.op.path}`)
      .sort();
    assert.deepEqual(
      kinds.filter((k) => k !== 'sync locked'),
      ['delete locked/old.txt', 'sync locked/y.txt', 'tree locked/new'],
    );
    assert.ok(!existsSync(join(daemon.dir, 'open', 'stale.txt')), "the full sync's removals happened");
    assert.ok((rig.status().fullSync.lastAt ?? 0) >= restarted, 'the full sync counts as done');
    await waitingShown(rig, kinds.length, /^rsync: \[(?:generator|receiver)\] /);
    await givenBackConverges(
      rig,
      join(daemon.dir, 'locked'),
      'the directory writable again after the full sync',
    );
    // The module's top directory made by hand as root and world-writable: the daemon's `nobody`
    // cannot set its mode or times. The full sync counts as done; the root's own attributes wait.
    await rig.stop();
    chownSync(daemon.dir, 0, 0);
    chmodSync(daemon.dir, 0o777);
    const thirdStart = Date.now();
    writeFileSync(join(rig.src, 'open', 'h.txt'), 'written while stopped again');
    await rig.start(['-r']);
    await rowsBecome(
      rig,
      [': rsync: [generator] failed to set permissions on "." (in replica): Operation not permitted (1)'],
      "only the root's own attributes wait",
    );
    assert.ok(existsSync(join(daemon.dir, 'open', 'h.txt')));
    assert.ok((rig.status().fullSync.lastAt ?? 0) >= thirdStart, 'the full sync counts as done');
    await waitingShown(rig, 1, /failed to set permissions on "\."/);
    // A directory sent again from the queue prunes first; the prune sets no attributes, so the top
    // directory it cannot change does not hold it back: the directory arrives and leaves the queue.
    await sentAgainFromQueue(rig, daemon, 'late');
    await onlyRowWaits(
      rig,
      '',
      /failed to set (?:permissions|times) on "\."/,
      "the directory leaves the queue; only the root's own attributes wait",
    );
    // A removal sets the times of the directories above it too, the top one's refused: the file is
    // removed all the same, so its row leaves the queue; only the root's own attributes wait.
    rmSync(join(rig.src, 'open', 'h.txt'));
    await eventually(() => !existsSync(join(daemon.dir, 'open', 'h.txt')), 15_000, 'the removal');
    await eventually(
      () => rig.status().remotes[0]?.inFlight === 0 && rig.status().remotes[0]?.pending === 0,
      15_000,
      'the removal landed',
    );
    assert.deepEqual(
      rig.queue().map((r) => `${r.op.kind} ${r.op.path}`),
      ['sync '],
      "the removal done, only the root's own attributes wait",
    );
    await waitingShown(rig, 1, /failed to set (?:permissions|times) on "\."/);
    await givenBackConverges(rig, daemon.dir, "the module's top directory the daemon's again");
    // A directory on the replica root's but world-writable (seeded by hand as root): a file written
    // in it arrives and leaves the queue; only the directory's own attributes, which the daemon's
    // `nobody` cannot set, wait.
    mkdirSync(join(rig.src, 'shared'));
    await allOnReplica(daemon, ['shared'], 15_000, 'the shared directory');
    await eventually(() => rig.status().remotes[0]?.pending === 0, 15_000, 'nothing pending');
    chownSync(join(daemon.dir, 'shared'), 0, 0);
    chmodSync(join(daemon.dir, 'shared'), 0o777);
    writeFileSync(join(rig.src, 'shared', 'up.jpg'), 'an upload into a directory the daemon does not own');
    await allOnReplica(daemon, ['shared/up.jpg'], 15_000, 'the upload');
    await onlyRowWaits(
      rig,
      'shared',
      /^rsync: \[generator\] failed to set (?:permissions|times) on "shared" \(in replica\): Operation not permitted \(1\)$/,
      "only the directory's own attributes wait",
    );
    await waitingShown(rig, 1, /on "shared"/);
    await givenBackConverges(rig, join(daemon.dir, 'shared'), "the shared directory the daemon's again");
    return { faults: 4, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    chownSync(daemon.dir, 0, 0);
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * A replica that refuses more files of one run than rsync's kept stderr can name: rsync's lines
 * about the first files were cut from the tail the worker keeps, and those files' rows were taken
 * as arrived and left the queue, so they never reached the replica once it could take them (silent
 * loss). Now a cut stderr names nothing: the whole run waits, every file in the queue.
 */
export async function replicaRefusesManyFiles(work: string): Promise<CaseResult> {
  const daemon = await startRsyncDaemon({ moduleLines: [`uid = ${NOBODY}`, `gid = ${NOBODY}`] });
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    chownSync(daemon.dir, NOBODY, NOBODY);
    mkdirSync(join(rig.src, 'locked'));
    await rig.start(['-r']);
    await rig.converged(15_000, 'the first full sync');
    chownSync(join(daemon.dir, 'locked'), 0, 0);
    // Held while the module is read-only, so that the retry sends them all in one run; rsync's
    // lines about 1,000 long names are more than the stderr a run keeps (`STDERR_KEEP`).
    editDaemonConf(daemon, (conf) => conf.replace('read only = no', 'read only = yes'));
    const names = Array.from(
      { length: 1000 },
      (_, i) => `locked/${String(i).padStart(4, '0')}-${'n'.repeat(240)}`,
    );
    for (const n of names) writeFileSync(join(rig.src, n), `refused ${n.length}`);
    // Each file's row (and maybe the directory's own: a batch landing after a newer one that
    // listed it sends it again, see Lane.relistStaleDirs).
    const rowsOf = (rows: readonly JsonRow[]): Map<string, JsonRow> =>
      new Map(rows.filter((r) => r.op.path !== 'locked').map((r) => [r.op.path, r]));
    await eventually(
      () => {
        const rows = rowsOf(rig.queue());
        return names.every((n) => (rows.get(n)?.lastError ?? null) !== null);
      },
      60_000,
      'every file waits while the module is read-only',
    );
    editDaemonConf(daemon, (conf) => conf.replace('read only = yes', 'read only = no'));
    assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
    let rows: JsonRow[] = [];
    await eventually(
      () => {
        rows = rig.queue();
        const files = rowsOf(rows);
        return (
          files.size === names.length &&
          names.every((n) => {
            const r = files.get(n);
            return r !== undefined && r.attempts >= 2 && !/read only/.test(r.lastError ?? '');
          })
        );
      },
      15_000,
      'every refused file still waits after the retry',
    );
    await waitingShown(rig, rows.length, /Permission denied.*more errors than a run keeps/);
    await givenBackConverges(rig, join(daemon.dir, 'locked'), 'the directory writable again');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    chownSync(daemon.dir, 0, 0);
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * A daemon whose module excludes names (`exclude = *.tmp lost+found/` in rsyncd.conf, common on
 * backup servers): it refuses to receive them (`ERROR: daemon refused to receive file "…"`, exit
 * 23) and takes the rest. That is its policy, which sersync's exit-23-is-success let be; here every
 * batch with such a name, and every full sync of a tree with a `lost+found`, failed and was retried
 * for ever. Now the run counts as done, and the log, status and /metrics say what the daemon refused.
 */
export async function daemonExcludes(work: string): Promise<CaseResult> {
  const daemon = await startRsyncDaemon({ moduleLines: ['exclude = *.tmp lost+found/'] });
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    mkdirSync(join(rig.src, 'lost+found'));
    writeFileSync(join(rig.src, 'lost+found', '#1234'), 'what fsck found');
    writeFileSync(join(rig.src, 'keep.txt'), 'replicated');
    const started = Date.now();
    await rig.start(['-r']);
    await eventually(
      () => (rig.status().fullSync.lastAt ?? 0) >= started,
      15_000,
      'the full sync counts as done, lost+found refused',
    );
    mkdirSync(join(rig.src, 'up'));
    writeFileSync(join(rig.src, 'up', 'upload.tmp'), 'the daemon refuses it');
    const beside = writeTen(rig, (i) => `up/f-${i}.txt`);
    await allOnReplica(daemon, ['keep.txt', ...beside], 15_000, 'the files the daemon takes');
    await eventually(
      () => {
        const [r] = rig.status().remotes;
        return r !== undefined && r.daemonRefused >= 2 && r.inFlight === 0 && r.pending === 0;
      },
      15_000,
      'the refusals counted and nothing left to send',
    );
    assert.deepEqual(rig.queue(), [], 'nothing waits: a refusal by policy is not a failure');
    const status = rig.status();
    const [remote] = status.remotes;
    assert.ok(remote !== undefined);
    assert.equal(remote.lastFailureAt, null);
    assert.equal(remote.lastDaemonRefused?.path, 'up/upload.tmp');
    assert.match(
      rig.cli(['status']).stdout,
      /^note: \S+ refused to receive 2 files its module excludes .*"up\/upload\.tmp".*: not on it, by its policy$/m,
    );
    assert.equal(
      await rig.metric('sersync_daemon_refused_total', { root: rig.src, remote: remote.remote }),
      2,
    );
    assert.ok(!existsSync(join(daemon.dir, 'up', 'upload.tmp')));
    assert.deepEqual(
      rig.logLines(/refused to receive what its module excludes/).map((l) => l.first),
      ['lost+found', 'up/upload.tmp'],
    );
    // verify: equal, and says what the daemon refuses rather than passing over it.
    const verify = rig.cli(['verify']);
    assert.equal(verify.status, 0, verify.stdout + verify.stderr);
    assert.match(
      verify.stdout,
      /: equal\n {2}refused: 2 the daemon's module excludes .*\n {4}lost\+found\n {4}up\/upload\.tmp\n/,
    );
    return { faults: 1, files: beside.length + 1, lost: 0 };
  } finally {
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}
