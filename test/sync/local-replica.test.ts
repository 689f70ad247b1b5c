import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Mount } from '../../src/watch/mounts.js';
import { mountPointOf, recordReplica, replicaUnmounted } from '../../src/sync/local-replica.js';
import { probeRemote } from '../../src/sync/probe.js';
import { testConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/tmp.js';

const mounts = (...points: string[]): Mount[] =>
  points.map((point, i) => ({ id: String(i), dev: '0:1', point, fstype: 'ext4' }));

test('the mount point of a path is the longest one at or above it, not a sibling sharing its prefix', () => {
  const table = mounts('/', '/mnt/backup', '/mnt/backup/deep', '/mnt/backup2');
  assert.equal(mountPointOf('/mnt/backup', table), '/mnt/backup');
  assert.equal(mountPointOf('/mnt/backup/www/x', table), '/mnt/backup');
  assert.equal(mountPointOf('/mnt/backup/deep/x', table), '/mnt/backup/deep');
  assert.equal(mountPointOf('/mnt/backup2x', table), '/');
  assert.equal(mountPointOf('/srv', mounts()), null, 'no mount table (no /proc): unknown');
});

test('a replica whose recorded file system is gone is unmounted, and its probe fails though the directory below is writable; one mounted where it was, or deeper, is not', async (t) => {
  const dir = await tempDir();
  t.after(dir.remove);
  const here = recordReplica(dir.path);
  assert.ok(here.mount !== null, 'this machine has a mount table');
  assert.equal(replicaUnmounted(here), null);
  // recorded on a file system mounted below where it is now: that mount is gone
  const gone = { path: dir.path, mount: join(dir.path, 'disk') };
  assert.match(replicaUnmounted(gone) ?? '', new RegExp(`mounted at ${dir.path}/disk when sersync2 started`));
  assert.equal(
    replicaUnmounted({ path: dir.path, mount: '/' }),
    null,
    'recorded at / (a disk mounted since is written)',
  );
  const config = testConfig([]);
  const remote = { id: dir.path, target: { kind: 'local', path: dir.path } } as const;
  assert.equal(await probeRemote(remote, config.rsync, here), true);
  assert.equal(await probeRemote(remote, config.rsync, gone), false);
  assert.equal(await probeRemote(remote, config.rsync), true, 'nothing recorded: writable is enough');
});
