/** The mount table: parsed, restricted to a tree, compared between two looks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { deviceOf, diffMounts, mountsBelow, parseMountinfo, readMountTable } from '../../src/watch/mounts.js';

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
  assert.deepEqual(mounts[2], { id: '31', dev: '0:40', point: '/srv/www/uploads' });
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
