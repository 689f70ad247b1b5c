/**
 * The inotify watcher and mounts: a file system mounted over a watched directory (no event from the
 * kernel) is watched and reported as `rewatched`. Unmounted, one mounted after start uncovers the
 * tree's own directory (rewatched, no gap); one there at start leaves a gap in `health()` until it
 * is mounted again. A watcher started in another's place with its mount memory (a restart) judges
 * mounts as the one before would have.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createWatcher } from '../../src/watch/index.js';
import { mountsBelow, readMountTable } from '../../src/watch/mounts.js';
import { mountUnavailable } from '../faults/cases/watch-health.js';
import { eventually } from '../helpers/trees.js';
import { EventLog, withWatcher, type Watched } from './helpers.js';

const noMount = mountUnavailable();

function run(cmd: string, ...args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

const mountTmpfs = (dir: string): void => {
  run('mount', '-t', 'tmpfs', '-o', 'size=1m', 'sersync-test', dir);
};

const rewatches = (log: EventLog): number => log.events.filter((e) => e.type === 'rewatched').length;

/** Runs `body` on a watched tree holding `rel`, mounted before watching began when `atStart`. */
async function withMountPoint(
  atStart: boolean,
  body: (w: Watched, mnt: string) => Promise<void>,
  rel = 'mnt',
): Promise<void> {
  await withWatcher(
    'inotify',
    async (w) => {
      try {
        await body(w, `${w.root}/${rel}`);
      } finally {
        // whatever the case left mounted, wherever it moved, before the tree is removed
        for (const point of [...mountsBelow(readMountTable(), w.root).keys()].reverse())
          spawnSync('umount', [point]);
      }
    },
    {
      setup: (root) => {
        mkdirSync(`${root}/${rel}`, { recursive: true });
        if (atStart) mountTmpfs(`${root}/${rel}`);
      },
    },
  );
}

/**
 * Closes `w`'s watcher and starts another on its tree with its mount memory, as TreeWatch does at a
 * restart; `meanwhile` runs while no watcher looks.
 */
async function restarted(
  w: Watched,
  meanwhile: () => void,
  body: (next: Watched) => Promise<void>,
): Promise<void> {
  const mountMemory = w.watcher.mountMemory?.();
  assert.ok(mountMemory !== undefined, 'a started watcher hands its mount memory over');
  await w.watcher.close();
  meanwhile();
  const log = new EventLog(() => watcher.watchedDirectories());
  const watcher = createWatcher('inotify', {
    root: w.root,
    xfs: false,
    skipDir: () => false,
    onEvents: log.onEvents,
    onError: log.onError,
    mountMemory,
  });
  try {
    const stats = await watcher.start();
    await body({ root: w.root, watcher, stats, log });
  } finally {
    await watcher.close();
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
  'inotify: a mount there at start, its parent renamed, unmounted, is a gap',
  { skip: noMount },
  async () => {
    await withMountPoint(
      true,
      async ({ root, watcher, log }) => {
        renameSync(`${root}/dir`, `${root}/moved`);
        await log.waitFor({ type: 'rename', from: 'dir', to: 'moved', isDir: true });
        // the mount table shows it at its new place: followed there
        await log.waitFor({ type: 'rewatched', path: 'moved/mnt', why: 'mounted' });
        run('umount', `${root}/moved/mnt`);
        await eventually(() => watcher.health().gaps.length > 0, 5000, 'the unmount as a gap');
        assert.deepEqual(watcher.health().gaps, [{ path: 'moved/mnt', reason: 'unmounted' }]);
        assert.ok(
          !log.events.some((e) => e.type === 'rewatched' && e.why === 'unmounted'),
          'not taken for a mount made after start',
        );
      },
      'dir/mnt',
    );
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

test(
  'inotify: a mount made after start, across a restart, unmounted: the tree again, no gap',
  { skip: noMount },
  async () => {
    await withMountPoint(false, async (w, mnt) => {
      mountTmpfs(mnt);
      await w.log.waitFor({ type: 'rewatched', path: 'mnt', why: 'mounted' });
      await restarted(
        w,
        () => undefined,
        async ({ watcher, log }) => {
          run('umount', mnt);
          await log.waitFor({ type: 'rewatched', path: 'mnt', why: 'unmounted' });
          assert.deepEqual(watcher.health(), { gaps: [], unwatchedDirectories: 0 });
        },
      );
    });
  },
);

test(
  'inotify: a gap is kept across a restart, and filled by a mount as before',
  { skip: noMount },
  async () => {
    await withMountPoint(true, async (w, mnt) => {
      run('umount', mnt);
      await eventually(() => w.watcher.health().gaps.length > 0, 5000, 'the unmount as a gap');
      await restarted(
        w,
        () => undefined,
        async ({ watcher, log }) => {
          assert.deepEqual(watcher.health().gaps, [{ path: 'mnt', reason: 'unmounted' }]);
          mountTmpfs(mnt);
          await log.waitFor({ type: 'rewatched', path: 'mnt', why: 'mounted' });
          assert.deepEqual(watcher.health().gaps, []);
          run('umount', mnt);
          await eventually(
            () => watcher.health().gaps.length > 0,
            5000,
            'the filling mount gone: a gap again',
          );
          assert.equal(rewatches(log), 1, 'nothing to resync at the unmount');
        },
      );
    });
  },
);

test(
  'inotify: mounts come and gone while restarting are judged as a running watcher would',
  { skip: noMount },
  async () => {
    // mounted over a directory of the tree's own: not there when watching began
    await withMountPoint(false, async (w, mnt) => {
      await restarted(
        w,
        () => {
          mountTmpfs(mnt);
        },
        async ({ watcher, log }) => {
          run('umount', mnt);
          await log.waitFor({ type: 'rewatched', path: 'mnt', why: 'unmounted' });
          assert.deepEqual(watcher.health().gaps, []);
        },
      );
    });
    // a mount there at start gone: the directory under it is a stranger
    await withMountPoint(true, async (w, mnt) => {
      await restarted(
        w,
        () => {
          run('umount', mnt);
        },
        ({ watcher }) => {
          assert.deepEqual(watcher.health().gaps, [{ path: 'mnt', reason: 'unmounted' }]);
          return Promise.resolve();
        },
      );
    });
    // a gap filled: the mount in its place is the tree's, and leaves the gap again when unmounted
    await withMountPoint(true, async (w, mnt) => {
      run('umount', mnt);
      await eventually(() => w.watcher.health().gaps.length > 0, 5000, 'the unmount as a gap');
      await restarted(
        w,
        () => {
          mountTmpfs(mnt);
        },
        async ({ watcher }) => {
          assert.deepEqual(watcher.health().gaps, []);
          run('umount', mnt);
          await eventually(() => watcher.health().gaps.length > 0, 5000, 'the unmount as a gap');
        },
      );
    });
  },
);

test(
  'inotify: a mount there at start stays original while its tree is moved away: back and restarted, unmounted, it is a gap',
  { skip: noMount },
  async () => {
    await withMountPoint(true, async (w, mnt) => {
      const away = `${w.root}-away`;
      renameSync(w.root, away);
      try {
        await w.log.waitFor({ type: 'root-gone' });
        // a recheck of the old watcher while the mount is out of its tree
        await eventually(() => w.watcher.mountMemory?.()?.mounts.size === 0, 5000, 'the mount out of sight');
      } finally {
        renameSync(away, w.root);
      }
      await restarted(
        w,
        () => undefined,
        async ({ watcher }) => {
          run('umount', mnt);
          await eventually(() => watcher.health().gaps.length > 0, 5000, 'the unmount as a gap');
          assert.deepEqual(watcher.health().gaps, [{ path: 'mnt', reason: 'unmounted' }]);
        },
      );
    });
  },
);
