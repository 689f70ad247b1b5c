/**
 * The inotify watcher and mounts: a file system mounted over a watched directory (no event from the
 * kernel) is watched and reported as `rewatched`; one unmounted is a gap in `health()` until it is
 * mounted again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mountUnavailable } from '../faults/cases/watch-health.js';
import { eventually } from '../helpers/trees.js';
import { withWatcher } from './helpers.js';

const noMount = mountUnavailable();

function run(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test(
  'inotify: a mount over a watched directory is followed; an unmount is a gap until remounted',
  { skip: noMount },
  async () => {
    await withWatcher(
      'inotify',
      async ({ root, watcher, log }) => {
        const mnt = `${root}/mnt`;
        try {
          run('mount', '-t', 'tmpfs', '-o', 'size=1m', 'sersync-test', mnt);
          await log.waitFor({ type: 'rewatched', path: 'mnt', why: 'mounted' });
          writeFileSync(`${mnt}/inside.txt`, 'x');
          await log.waitFor({ type: 'write', path: 'mnt/inside.txt' });
          assert.deepEqual(watcher.health(), { gaps: [], unwatchedDirectories: 0 });

          run('umount', mnt);
          await eventually(() => watcher.health().gaps.length > 0, 5000, 'the unmount as a gap');
          assert.deepEqual(watcher.health().gaps, [{ path: 'mnt', reason: 'unmounted' }]);
          const rewatched = log.events.filter((e) => e.type === 'rewatched').length;
          writeFileSync(`${mnt}/under.txt`, 'the directory under the mount is watched');
          await log.waitFor({ type: 'write', path: 'mnt/under.txt' });
          assert.equal(
            log.events.filter((e) => e.type === 'rewatched').length,
            rewatched,
            'an unmount resyncs nothing',
          );

          run('mount', '-t', 'tmpfs', '-o', 'size=1m', 'sersync-test', mnt);
          await log.until(
            () => log.events.filter((e) => e.type === 'rewatched').length > rewatched,
            'the remount',
          );
          assert.deepEqual(watcher.health().gaps, []);
        } finally {
          while (spawnSync('mountpoint', ['-q', mnt]).status === 0) spawnSync('umount', [mnt]);
        }
      },
      { setup: (root) => mkdirSync(`${root}/mnt`) },
    );
  },
);
