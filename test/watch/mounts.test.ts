/** The mount table: parsed, restricted to a tree, compared between two looks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  deviceOf,
  diffMounts,
  isSharedFileSystem,
  mountsBelow,
  parseMountinfo,
  readMountTable,
  sharedMountsOf,
} from '../../src/watch/mounts.js';
import { tempDir } from '../helpers/tmp.js';

const TABLE = [
  '21 26 0:20 / /proc rw,relatime - proc proc rw',
  '30 26 8:1 / /srv/www rw - ext4 /dev/sda1 rw',
  '31 30 0:40 / /srv/www/uploads rw - tmpfs none rw',
  '32 30 0:41 / /srv/www/with\\040space rw - tmpfs none rw',
  '33 26 0:42 / /srv/wwwx rw - tmpfs none rw',
  '34 31 0:43 / /srv/www/uploads rw - tmpfs none rw',
  '',
].join('\n');

test('parseMountinfo: id, device and mount point, octal escapes undone', () => {
  const mounts = parseMountinfo(TABLE);
  assert.equal(mounts.length, 6);
  assert.deepEqual(mounts[2], { id: '31', dev: '0:40', point: '/srv/www/uploads', fstype: 'tmpfs' });
  assert.equal(mounts[3]?.point, '/srv/www/with space');
});

test('mountsBelow: strictly below the root, the mount on top wins', () => {
  const below = mountsBelow(parseMountinfo(TABLE), '/srv/www');
  assert.deepEqual(
    [...below],
    [
      ['/srv/www/uploads', '34'],
      ['/srv/www/with space', '32'],
    ],
  );
});

test('diffMounts: mounted (new or again), unmounted', () => {
  const before = new Map([
    ['/t/a', '1'],
    ['/t/b', '2'],
  ]);
  const after = new Map([
    ['/t/a', '5'],
    ['/t/c', '3'],
  ]);
  assert.deepEqual(diffMounts(before, after), { mounted: ['/t/a', '/t/c'], unmounted: ['/t/b'] });
  assert.deepEqual(diffMounts(before, before), { mounted: [], unmounted: [] });
});

test('deviceOf: a stat dev as the major:minor of the mount table', () => {
  const root = readMountTable().find((m) => m.point === '/');
  assert.ok(root !== undefined, 'this process has a mount table');
  assert.equal(deviceOf(statSync('/').dev), root.dev);
  assert.equal(deviceOf(0xfe00), '254:0');
  assert.equal(deviceOf(0x803), '8:3');
});

/** An NFS client's table as the kernel writes it: optional fields (shared:N) before the `-`. */
const CLIENT = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '40 22 0:52 / /srv/www rw,relatime shared:30 - nfs4 files:/export/www rw,vers=4.2',
  '41 40 0:53 / /srv/www/media rw,nosuid,nodev,relatime shared:31 master:7 - fuse.sshfs media@host: rw',
  '42 40 8:17 / /srv/www/ntfs rw,relatime shared:32 - fuseblk /dev/sdb1 rw',
  '43 40 0:54 / /srv/www/layers rw shared:33 - fuse.fuse-overlayfs fuse-overlayfs rw',
  '44 22 0:55 / /srv/local rw shared:34 - ext4 /dev/sdc1 rw',
  '45 44 0:56 / /srv/local/share rw shared:35 - cifs //nas/share rw',
  '',
].join('\n');

test('isSharedFileSystem: network, cluster and FUSE file systems; not local ones, fuseblk or fuse-overlayfs', () => {
  for (const t of [
    'nfs',
    'nfs4',
    'cifs',
    'smb3',
    'ceph',
    'glusterfs',
    '9p',
    'virtiofs',
    'fuse',
    'fuse.sshfs',
  ])
    assert.equal(isSharedFileSystem(t), true, t);
  for (const t of ['ext4', 'xfs', 'btrfs', 'tmpfs', 'overlay', 'zfs', 'fuseblk', 'fuse.fuse-overlayfs', ''])
    assert.equal(isSharedFileSystem(t), false, t);
});

test("sharedMountsOf: the root's own file system by its device, and the shared ones mounted in the tree", () => {
  const table = parseMountinfo(CLIENT);
  assert.equal(table[1]?.fstype, 'nfs4', 'the type follows the optional fields');
  assert.deepEqual(sharedMountsOf(table, '/srv/www', '0:52'), [
    { path: '', fstype: 'nfs4' },
    { path: 'media', fstype: 'fuse.sshfs' },
  ]);
  // A directory below an NFS mount point is on it too (same device).
  assert.deepEqual(sharedMountsOf(table, '/srv/www/html', '0:52'), [{ path: '', fstype: 'nfs4' }]);
  assert.deepEqual(sharedMountsOf(table, '/srv/local', '0:55'), [{ path: 'share', fstype: 'cifs' }]);
  assert.deepEqual(sharedMountsOf(table, '/srv/local/other', '0:55'), []);
});

test('a mount table that cannot be read now (out of descriptors) is the last one read, not an empty one', async () => {
  const dir = await tempDir();
  try {
    const file = join(dir.path, 'mountinfo');
    writeFileSync(file, '36 35 98:0 / /srv/www/m rw,noatime - ext4 /dev/sdb1 rw\n');
    assert.deepEqual(
      readMountTable(file).map((m) => m.point),
      ['/srv/www/m'],
    );
    rmSync(file);
    assert.deepEqual(
      readMountTable(file).map((m) => m.point),
      ['/srv/www/m'],
      'the last table read stands',
    );
    assert.deepEqual(readMountTable(join(dir.path, 'never-read')), [], 'none read yet: none known');
  } finally {
    await dir.remove();
  }
});
