import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseFstab } from '../../src/watch/mounts.js';
import {
  mountPointOf,
  readyReplica,
  recordReplica,
  ReplicaRecords,
  replicaUnmounted,
} from '../../src/sync/local-replica.js';
import { probeRemote } from '../../src/sync/probe.js';
import { testConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/tmp.js';

test('the mount point of a path is the longest one at or above it, not a sibling sharing its prefix', () => {
  const table = ['/', '/mnt/backup', '/mnt/backup/deep', '/mnt/backup2'];
  assert.equal(mountPointOf('/mnt/backup', table), '/mnt/backup');
  assert.equal(mountPointOf('/mnt/backup/www/x', table), '/mnt/backup');
  assert.equal(mountPointOf('/mnt/backup/deep/x', table), '/mnt/backup/deep');
  assert.equal(mountPointOf('/mnt/backup2x', table), '/');
  assert.equal(mountPointOf('/srv', []), null, 'no mount table (no /proc): unknown');
});

test('a replica whose recorded file system is gone is unmounted, and its probe fails though the directory below is writable; one mounted where it was, or deeper, is not', async (t) => {
  const dir = await tempDir();
  t.after(dir.remove);
  const here = recordReplica(dir.path);
  assert.ok(here.mount !== null, 'this machine has a mount table');
  assert.equal(replicaUnmounted(here), null);
  // recorded on a file system mounted below where it is now: that mount is gone
  const gone = { path: dir.path, mount: join(dir.path, 'disk'), fstab: false };
  assert.match(replicaUnmounted(gone) ?? '', new RegExp(`mounted at ${dir.path}/disk when sersync2 started`));
  assert.equal(
    replicaUnmounted({ path: dir.path, mount: '/', fstab: false }),
    null,
    'recorded at / (a disk mounted since is written)',
  );
  const config = testConfig([]);
  const remote = { id: dir.path, target: { kind: 'local', path: dir.path } } as const;
  assert.equal(await probeRemote(remote, config.rsync, here), true);
  assert.equal(await probeRemote(remote, config.rsync, gone), false);
  assert.equal(await probeRemote(remote, config.rsync), true, 'nothing recorded: writable is enough');
});

test('/etc/fstab: the points where file systems belong, escapes undone, comments and swap left out', () => {
  const fstab = [
    '# <file system> <mount point> <type> <options> <dump> <pass>',
    'UUID=1234 / ext4 errors=remount-ro 0 1',
    '  LABEL=backup\t/mnt/backup   ext4  noauto,nofail  0  2',
    'UUID=5678 none swap sw 0 0',
    '/dev/sdc1 /mnt/usb\\040disk vfat noauto 0 0',
    '',
    'server:/export /srv/nfs nfs4 defaults 0 0',
  ].join('\n');
  assert.deepEqual(parseFstab(fstab), ['/', '/mnt/backup', '/mnt/usb disk', '/srv/nfs']);
});

test('a replica whose disk /etc/fstab lists is not mounted when recorded: it belongs there, and is not written until that disk is mounted', async (t) => {
  const dir = await tempDir();
  t.after(dir.remove);
  const disk = join(dir.path, 'usb');
  const replica = join(disk, 'www');
  const mounted = recordReplica(replica, []);
  const listed = recordReplica(replica, ['/', disk]);
  assert.deepEqual(listed, { path: replica, mount: disk, fstab: true });
  assert.equal(
    replicaUnmounted(listed),
    `the file system /etc/fstab puts at ${disk}, which holds the local replica ${replica}, is not mounted ` +
      `now: nothing is written to the one below it (${mounted.mount ?? ''}) until it is mounted`,
  );
  const config = testConfig([]);
  const remote = { id: replica, target: { kind: 'local', path: replica } } as const;
  assert.equal(await probeRemote(remote, config.rsync, listed), false);
  // Listed and mounted (here: the file system the directory is on), or listed elsewhere: as mounted.
  assert.deepEqual(recordReplica(replica, [mounted.mount ?? '/']), mounted);
  assert.deepEqual(recordReplica(replica, [join(dir.path, 'other')]), mounted);
  assert.equal(mounted.fstab, false);
});

test('a replica missing before a run is made again and said so once; one the start makes is noted until taken', async (t) => {
  const dir = await tempDir();
  t.after(dir.remove);
  const path = join(dir.path, 'replica');
  const replica = recordReplica(path, []);
  assert.deepEqual(readyReplica(replica), { problem: null, madeAgain: true });
  assert.ok(existsSync(path));
  assert.deepEqual(readyReplica(replica), { problem: null, madeAgain: false });
  const records = new ReplicaRecords();
  const fresh = join(dir.path, 'fresh');
  assert.deepEqual(records.prepare(fresh), { created: true, away: null });
  assert.deepEqual(records.prepare(path), { created: false, away: null });
  assert.equal(records.takeMade(fresh), true);
  assert.equal(records.takeMade(fresh), false, 'taken once');
  assert.equal(records.takeMade(path), false, 'it was there');
});

test('a replica waiting for a disk /etc/fstab lists is looked at again at each reload; one recorded mounted is kept', async (t) => {
  const dir = await tempDir();
  t.after(dir.remove);
  const disk = join(dir.path, 'usb');
  const replica = join(disk, 'www');
  let fstab: string[] = [disk];
  const records = new ReplicaRecords(() => fstab);
  const first = records.prepare(replica);
  assert.equal(first.created, false);
  assert.match(first.away ?? '', /\/etc\/fstab puts at/);
  assert.equal(existsSync(replica), false, 'nothing made where the disk belongs');
  assert.match(records.prepare(replica).away ?? '', /\/etc\/fstab puts at/, 'the line still there');
  // The stale line removed, then a reload: the replica is where its path leads now.
  fstab = [];
  assert.deepEqual(records.prepare(replica), { created: true, away: null });
  assert.equal(records.get(replica)?.fstab, false);
  // Recorded mounted: a line added later changes nothing (the start's record holds).
  fstab = [disk];
  assert.deepEqual(records.prepare(replica), { created: false, away: null });
});
