/**
 * The disk of a local replica unmounted while sersync2 runs (a USB backup disk unplugged, an NFS
 * export gone): its path then leads to the directory the disk covered, on another disk.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RemoteReport } from '../../../src/daemon/status.js';
import { freePort, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { CLI } from '../../helpers/sersync.js';
import { eventually, treeDiff } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

function bind(from: string, to: string): void {
  const r = spawnSync('mount', ['--bind', from, to], { encoding: 'utf8' });
  assert.equal(r.status, 0, `mount --bind ${from} ${to}: ${r.stderr}`);
}

function unmount(dir: string): void {
  const r = spawnSync('umount', [dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, `umount ${dir}: ${r.stderr}`);
}

/**
 * Two local replicas on "disks" (bind mounts of directories that keep their content): one is the
 * mount point itself, one a directory on its disk; a daemon remote beside them. Both disks are
 * unmounted: the daemon keeps receiving; nothing is written where the disks were (the directory
 * under the first, a new directory for the second, as rsync and sersync would have made), while
 * `status --json` shows each local remote's backlog and why, and /metrics its lag; mounted again,
 * both converge without an operator's retry. The same through a reload while they are away. Then
 * another, empty, disk in the first one's place (rotated backup disks) receives the whole tree.
 */
export async function replicaDiskUnmounted(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const base = mkdtempSync(join(work, 'disks-'));
  const disk = join(base, 'disk');
  const backup = join(base, 'backup');
  const usb = join(base, 'usb');
  const onDisk = join(usb, 'www');
  for (const d of [join(disk, 'backup'), join(disk, 'usb', 'www'), backup, usb])
    mkdirSync(d, { recursive: true });
  const rig = Rig.create(work, {
    daemon,
    metricsPort: await freePort(),
    spec: { localTargets: [backup, onDisk] },
  });
  const mount = (): void => {
    bind(join(disk, 'backup'), backup);
    bind(join(disk, 'usb'), usb);
  };
  const replicas = [backup, onDisk];
  const converged = async (what: string): Promise<void> => {
    await rig.converged(20_000, what);
    for (const r of replicas)
      await eventually(() => treeDiff(rig.src, r) === '', 20_000, `${what}: ${r} == source`);
  };
  try {
    mount();
    const check = rig.cli(['check']);
    for (const [replica, disk] of [
      [backup, backup],
      [onDisk, usb],
    ])
      assert.ok(
        check.stdout.includes(`note: the local replica ${replica} is on the file system mounted at ${disk};`),
        `check names the disk of ${replica}: ${check.stdout}`,
      );
    writeFileSync(join(rig.src, 'before.txt'), 'before');
    await rig.start(['-r']);
    await converged('before the unmount');

    unmount(backup);
    unmount(usb);
    writeFileSync(join(rig.src, 'during.txt'), 'while the disks are away');
    mkdirSync(join(rig.src, 'd'));
    for (let i = 0; i < 10; i++) writeFileSync(join(rig.src, 'd', `f${i}`), `away ${i}`);
    await eventually(() => existsSync(join(daemon.dir, 'd', 'f9')), 15_000, 'the daemon remote meanwhile');
    const away = (): RemoteReport[] => rig.status().remotes.filter((r) => replicas.includes(r.remote));
    const showsAway = async (what: string): Promise<void> => {
      const waiting = (r: RemoteReport): boolean =>
        r.queuedRetries > 0 && /is not mounted now/.test(r.lastError ?? '');
      await eventually(
        () => away().filter(waiting).length === 2,
        15_000,
        `status --json: both local remotes waiting for their disk${what}`,
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}: ${JSON.stringify(away())}`, { cause: err });
      });
      for (const r of away())
        assert.match(r.lastError ?? '', new RegExp(`mounted at ${r.remote === backup ? backup : usb} `));
      for (const remote of replicas)
        await eventually(
          async () => ((await rig.metric('sersync_replication_lag_seconds', { remote })) ?? 0) >= 1,
          15_000,
          `/metrics: the lag of ${remote} grows while its disk is away${what}`,
        );
      assert.deepEqual(readdirSync(backup), [], `written on the directory under the first disk${what}`);
      assert.ok(!existsSync(onDisk), `the replica on the second disk made on the disk below${what}`);
    };
    await showsAway('');
    // A reload meanwhile starts a new engine (and a resync): it knows where they were.
    rig.running.child.kill('SIGHUP');
    await eventually(() => rig.status().reloads === 1, 20_000, 'the reload');
    writeFileSync(join(rig.src, 'after-reload.txt'), 'after the reload');
    await showsAway(' after a reload');

    mount();
    await converged('the disks mounted again');
    for (const r of rig.status().remotes) assert.equal(r.queuedRetries, 0, `${r.remote}: queued retries`);

    // Rotated backup disks: another, empty, disk mounted in the first one's place gets the whole tree.
    unmount(backup);
    writeFileSync(join(rig.src, 'rotated.txt'), 'while the first disk is away');
    await eventually(
      () => away().some((r) => r.remote === backup && r.queuedRetries > 0),
      15_000,
      'the change waiting for the disk',
    );
    const other = join(base, 'other-disk');
    mkdirSync(other);
    bind(other, backup);
    await converged('another disk in its place');
    return { faults: 3, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop().finally(() => {
      for (const dir of [backup, usb])
        while (spawnSync('mountpoint', ['-q', dir]).status === 0) spawnSync('umount', [dir]);
    });
  }
}

/**
 * A local replica on a disk that /etc/fstab lists but that is not mounted when sersync2 starts (a
 * USB disk with `noauto`, one that failed to mount at boot): nothing is written where the disk
 * belongs (rsync would have made the replica on the disk below, and filled it), `check` warns,
 * status and /metrics show the remote waiting for its disk while the daemon remote receives; once
 * the disk is mounted, the whole tree goes to it with no operator step. sersync2 runs in a mount
 * namespace of its own with the case's fstab bound over /etc/fstab (`unshare`), and the disk is
 * mounted in that namespace (`nsenter`).
 */
export async function replicaDiskNotMountedAtStart(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const base = mkdtempSync(join(work, 'disks-'));
  const disk = join(base, 'disk');
  const usb = join(base, 'usb');
  const replica = join(usb, 'www');
  mkdirSync(disk);
  mkdirSync(usb);
  const fstab = join(base, 'fstab');
  writeFileSync(fstab, `# the case's fstab\n/dev/sdz1\t${usb}\text4\tnoauto,nofail\t0\t2\n`);
  // sersync2 (or check) in a namespace where /etc/fstab is the case's.
  const withFstab = ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/fstab && exec "$@"', fstab];
  const rig = Rig.create(work, { daemon, metricsPort: await freePort(), spec: { localTargets: [replica] } });
  const [command = '', ...args] = withFstab;
  const check = spawnSync(
    command,
    [...args, process.execPath, CLI, 'check', '-o', rig.config, '--state-dir', rig.state],
    { encoding: 'utf8' },
  );
  assert.match(
    check.stdout,
    new RegExp(
      `^WARNING: the file system /etc/fstab puts at ${usb}, which holds the local replica ${replica}, is not mounted now`,
      'm',
    ),
  );
  writeFileSync(join(rig.src, 'before.txt'), 'before');
  const proc = await rig.start(['-r'], { wrapper: withFstab });
  try {
    writeFileSync(join(rig.src, 'during.txt'), 'while the disk is away');
    await eventually(() => existsSync(join(daemon.dir, 'during.txt')), 15_000, 'the daemon remote meanwhile');
    const local = (): RemoteReport | undefined => rig.status().remotes.find((r) => r.remote === replica);
    await eventually(
      () =>
        /\/etc\/fstab puts at .* is not mounted now/.test(local()?.lastError ?? '') &&
        (local()?.queuedRetries ?? 0) > 0,
      15_000,
      'status --json: the local remote waiting for its disk',
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(local())}`, { cause: err });
    });
    await eventually(
      async () => ((await rig.metric('sersync_replication_lag_seconds', { remote: replica })) ?? 0) >= 1,
      15_000,
      '/metrics: its lag grows while the disk is away',
    );
    assert.deepEqual(readdirSync(usb), [], 'nothing written where the disk belongs');

    const pid = String(proc.child.pid);
    const mounted = spawnSync('nsenter', ['-t', pid, '-m', 'mount', '--bind', disk, usb], {
      encoding: 'utf8',
    });
    assert.equal(mounted.status, 0, mounted.stderr);
    await eventually(() => treeDiff(rig.src, join(disk, 'www')) === '', 20_000, 'the whole tree on the disk');
    await rig.converged(20_000, 'the disk mounted');
    assert.equal(local()?.queuedRetries, 0);
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    // The namespace, and the disk mounted in it, end with sersync2.
    await rig.stop();
  }
}
