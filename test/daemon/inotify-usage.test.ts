/** The inotify headroom warning: counted from /proc for real, and the threshold and sysctl line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { inotifyWatchesOfUser, watchLimitWarning } from '../../src/daemon/inotify-usage.js';
import { tempDir } from '../helpers/tmp.js';

test('inotify: the watches of this user are counted from /proc (one more per watched directory)', async () => {
  const dirs = await Promise.all([tempDir('sersync-inotify-'), tempDir('sersync-inotify-')]);
  const uid = process.getuid?.() ?? 0;
  const before = inotifyWatchesOfUser(uid);
  const watchers = dirs.map((d) => watch(d.path)); // libuv: one inotify watch per directory
  try {
    assert.equal(inotifyWatchesOfUser(uid), before + 2);
  } finally {
    for (const w of watchers) w.close();
    for (const d of dirs) await d.remove();
  }
  assert.equal(inotifyWatchesOfUser(uid + 12345), 0, 'a uid without processes holds none');
});

test('inotify: no warning up to 80 % of the limit, then one with the numbers and the sysctl line', () => {
  assert.equal(watchLimitWarning({ ours: 100, userTotal: 8000, limit: 10_000 }), null);
  const w = watchLimitWarning({ ours: 7000, userTotal: 8001, limit: 10_000 });
  assert.ok(w !== null);
  assert.match(w, /this user holds 8001 of fs\.inotify\.max_user_watches=10000 \(80 %\)/);
  assert.match(w, /7000 for these trees, 1001 by other programs/);
  assert.match(w, /sysctl -w fs\.inotify\.max_user_watches=20000 /);
  assert.match(w, /\/etc\/sysctl\.d\//);
});

test('inotify: without the per-user count our own watches decide; an unknown limit never warns', () => {
  const w = watchLimitWarning({ ours: 9000, userTotal: null, limit: 10_000 });
  assert.ok(w?.includes('this user holds 9000') === true);
  assert.ok(!w.includes('other programs'));
  assert.match(w, /max_user_watches=20000 /);
  assert.equal(watchLimitWarning({ ours: 5_000_000, userTotal: null, limit: 0 }), null);
  assert.match(
    watchLimitWarning({ ours: 100, userTotal: 25_000, limit: 20_000 }) ?? '',
    /max_user_watches=50000 /,
    'twice what is used when that is more than twice the limit',
  );
});
