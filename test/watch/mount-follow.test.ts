/**
 * The inotify watcher and mounts: a file system mounted over a watched directory (no event from the
 * kernel) is watched and reported as `rewatched`. Unmounted, one mounted after start uncovers the
 * tree's own directory (rewatched, no gap); one there at start leaves a gap in `health()` until it
 * is mounted again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mountUnavailable } from '../faults/cases/watch-health.js';
import { eventually } from '../helpers/trees.js';
import { withWatcher, type EventLog, type Watched } from './helpers.js';

const noMount = mountUnavailable();

function run(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const mountTmpfs = (dir: string): void => {
  run('mount', '-t', 'tmpfs', '-o', 'size=1m', 'sersync-test', dir);
};

const rewatches = (log: EventLog): number => log.events.filter((e) => e.type === 'rewatched').length;

/** Runs `body` on a watched tree holding `mnt`, mounted before watching began when `atStart`. */
async function withMountPoint(
  atStart: boolean,
  body: (w: Watched, mnt: string) => Promise<void>,
): Promise<void> {
  let mnt = '';
  try {
    await withWatcher('inotify', (w) => body(w, mnt), {
      setup: (root) => {
        mnt = `${root}/mnt`;
        mkdirSync(mnt);
        if (atStart) mountTmpfs(mnt);
      },
    });
  } finally {
    while (mnt !== '' && spawnSync('mountpoint', ['-q', mnt]).status === 0) spawnSync('umount', [mnt]);
  }
}

test(
  'inotify: a mount there at start, unmounted, is a gap until mounted again',
  { skip: noMount },
  async () => {
    await withMountPoint(true, async ({ watcher, log }, mnt) => {
      run('umount', mnt);
      await eventually(() => watcher.health().gaps.length > 0, 5000, 'the unmount as a gap');
      assert.deepEqual(watcher.health().gaps, [{ path: 'mnt', reason: 'unmounted' }]);
      writeFileSync(`${mnt}/under.txt`, 'the directory under the mount is watched');
      await log.waitFor({ type: 'write', path: 'mnt/under.txt' });
      assert.equal(rewatches(log), 0, 'an unmount resyncs nothing');

      mountTmpfs(mnt);
      await log.waitFor({ type: 'rewatched', path: 'mnt', why: 'mounted' });
      assert.deepEqual(watcher.health().gaps, []);
      // the new file system took the place of the one there at start: unmounted, it is a gap again
      run('umount', mnt);
      await eventually(() => watcher.health().gaps.length > 0, 5000, 'the second unmount as a gap');
      assert.equal(rewatches(log), 1, 'the second unmount resyncs nothing either');
    });
  },
);

test(
  'inotify: a mount over a watched directory is followed; unmounted, the directory it covered is the tree again',
  { skip: noMount },
  async () => {
    await withMountPoint(false, async ({ watcher, log }, mnt) => {
      mountTmpfs(mnt);
      await log.waitFor({ type: 'rewatched', path: 'mnt', why: 'mounted' });
      writeFileSync(`${mnt}/inside.txt`, 'x');
      await log.waitFor({ type: 'write', path: 'mnt/inside.txt' });
      assert.deepEqual(watcher.health(), { gaps: [], unwatchedDirectories: 0 });

      run('umount', mnt);
      await log.waitFor({ type: 'rewatched', path: 'mnt', why: 'unmounted' });
      assert.deepEqual(watcher.health(), { gaps: [], unwatchedDirectories: 0 }, 'no gap: it is the tree');
      writeFileSync(`${mnt}/uncovered.txt`, 'the directory the mount covered is watched');
      await log.waitFor({ type: 'write', path: 'mnt/uncovered.txt' });
    });
  },
);
