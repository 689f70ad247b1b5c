/**
 * Faults that blind the watcher, through the real CLI and a real daemon: each converges once the
 * cause is gone, and `status --json` and `/metrics` show it while it lasts (cases/watch-health.ts).
 */
import { test } from 'node:test';
import { useLab } from '../helpers/lab.js';
import { useUnprivileged } from '../helpers/unprivileged.js';
import {
  deploySwitchesSymlink,
  failedStartAfterCrash,
  fuseUnavailable,
  gapAcrossRestart,
  linkOnTheWaySwapped,
  mountedAfterStart,
  mountedAfterStartAcrossRestart,
  mountedInTree,
  mountUnavailable,
  pathPastPathMax,
  rootMountedOver,
  rootOnSharedFileSystem,
  rootGoneAcrossStop,
  rootRemounted,
  rootSwappedForSymlink,
  userNamespaceUnavailable,
  watchLimitOnRestoreAndReload,
  watchLimitRaisedAcrossStop,
  watchLimitWhileRunning,
} from './cases/watch-health.js';

const lab = useLab('sersync-faults-watch-health-');
const noMount = mountUnavailable();
const attacker = useUnprivileged();

test('a file system in the tree at start, unmounted, mounted again', { skip: noMount }, async () => {
  await mountedInTree(lab.work, lab.daemon);
});

test(
  'a directory bind-mounted after start, unmounted: its own content is watched and replicated',
  { skip: noMount },
  async () => {
    await mountedAfterStart(lab.work, lab.daemon);
  },
);

test(
  "a tmpfs mounted in the tree after start, a new watcher, unmounted: still the tree's own directory",
  { skip: noMount },
  async () => {
    await mountedAfterStartAcrossRestart(lab.work, lab.daemon);
  },
);

test(
  'an unmounted gap outlives a new watcher: still shown, still left alone',
  { skip: noMount },
  async () => {
    await gapAcrossRestart(lab.work, lab.daemon);
  },
);

test(
  'a tmpfs mounted over the root after start, unmounted: the root is watched and replicated again',
  { skip: noMount },
  async () => {
    await rootMountedOver(lab.work, lab.daemon);
  },
);

test('the watch root unmounted and mounted again: nothing sent meanwhile', { skip: noMount }, async () => {
  await rootRemounted(lab.work, lab.daemon);
});

test(
  'the root on a FUSE file system written from elsewhere: shown while it lasts, a full sync brings it',
  { skip: fuseUnavailable() },
  async () => {
    await rootOnSharedFileSystem(lab.work, lab.daemon);
  },
);

test('a directory past PATH_MAX: unwatchable while it lasts, watched and sent once renamed short', async () => {
  await pathPastPathMax(lab.work, lab.daemon);
});

test(
  'the inotify watch limit reached while running: degraded, covered by periodic sends, healed',
  { skip: userNamespaceUnavailable() },
  async () => {
    await watchLimitWhileRunning(lab.work, lab.daemon);
  },
);

test(
  'a tree past the watch limit when it is watched again (a swapped-in root, a reload): degraded, not stopped',
  { skip: userNamespaceUnavailable() },
  async () => {
    await watchLimitOnRestoreAndReload(lab.work, lab.daemon);
  },
);

test(
  'the watch limit reached, then a stop to raise it: the unwatched directories are queued, sent at the start',
  { skip: userNamespaceUnavailable() },
  async () => {
    await watchLimitRaisedAcrossStop(lab.work, lab.daemon);
  },
);

test(
  'a crash, then a start that fails at the watch limit, then one that works: the resync the crash owes still runs',
  { skip: userNamespaceUnavailable() },
  async () => {
    await failedStartAfterCrash(lab.work, lab.daemon);
  },
);

test('the root gone at the stop, back before the start: a full sync of the tree queued, sent', async () => {
  await rootGoneAcrossStop(lab.work, lab.daemon);
});

test('the root swapped for a symlink: refused, nothing sent, the replica untouched', async () => {
  await rootSwappedForSymlink(lab.work, lab.daemon);
});

test('a symlinked watch path switched by a deploy: the new release is watched and replicated', async () => {
  await deploySwitchesSymlink(lab.work, lab.daemon);
});

for (const shape of ['chain', 'parent'] as const)
  test(`a link on the way to the root (${shape}) swapped by its owner towards root's directory: refused, nothing sent`, async (t) => {
    const user = attacker.user();
    if (user === null) return t.skip(attacker.reason());
    await linkOnTheWaySwapped(lab.work, lab.daemon, user, shape);
  });
