/** Which directory a watched root is: the verdicts as a table, and a look at real directories and links. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  judgeRoot,
  lookAtRoot,
  originOf,
  type RootLook,
  type RootOrigin,
  type RootVerdict,
} from '../../src/sync/root-identity.js';
import { degradedReasons } from '../../src/sync/tree-watch.js';
import { tempDir } from '../helpers/tmp.js';

const ID = { dev: 1, ino: 100, uid: 0 };
const dirOrigin: RootOrigin = { follows: false, id: ID, resolved: '/srv/www' };
const linkOrigin: RootOrigin = { follows: true, id: ID, resolved: '/srv/releases/1' };

test('judgeRoot: the same directory, gone, replaced, returned, switched', () => {
  const cases: [string, RootOrigin, RootLook, RootVerdict][] = [
    ['unchanged directory', dirOrigin, { kind: 'dir', id: ID, resolved: '/srv/www' }, 'same'],
    ['deleted', dirOrigin, { kind: 'missing' }, 'gone'],
    ['a file in its place', dirOrigin, { kind: 'other' }, 'gone'],
    [
      'swapped for a symlink (the attack)',
      dirOrigin,
      { kind: 'link', id: { dev: 1, ino: 7, uid: 0 }, resolved: '/root/secret', linkUid: 0 },
      'replaced',
    ],
    [
      'a symlink even to itself is not the directory',
      dirOrigin,
      { kind: 'link', id: ID, resolved: '/srv/www', linkUid: 0 },
      'replaced',
    ],
    [
      "another user's directory in its place",
      dirOrigin,
      { kind: 'dir', id: { dev: 1, ino: 5, uid: 1000 }, resolved: '/srv/www' },
      'replaced',
    ],
    [
      'recreated or remounted by the same owner',
      dirOrigin,
      { kind: 'dir', id: { dev: 2, ino: 2, uid: 0 }, resolved: '/srv/www' },
      'returned',
    ],
    [
      'followed link, unchanged',
      linkOrigin,
      { kind: 'link', id: ID, resolved: '/srv/releases/1', linkUid: 0 },
      'same',
    ],
    [
      'followed link switched by a deploy user to their release',
      linkOrigin,
      { kind: 'link', id: { dev: 1, ino: 101, uid: 33 }, resolved: '/srv/releases/2', linkUid: 33 },
      'switched',
    ],
    [
      'followed link switched by another user to a directory not theirs',
      linkOrigin,
      { kind: 'link', id: { dev: 1, ino: 7, uid: 0 }, resolved: '/root/secret', linkUid: 33 },
      'replaced',
    ],
    ['followed link dangling', linkOrigin, { kind: 'missing' }, 'gone'],
  ];
  for (const [what, origin, look, verdict] of cases) assert.equal(judgeRoot(origin, look), verdict, what);
});

test('lookAtRoot: a directory, a symlink to one (resolved), nothing', async () => {
  const tmp = await tempDir();
  try {
    const real = join(tmp.path, 'releases', '1');
    mkdirSync(real, { recursive: true });
    symlinkSync(real, join(tmp.path, 'current'));
    const dir = lookAtRoot(real);
    assert.equal(dir.kind, 'dir');
    const link = lookAtRoot(join(tmp.path, 'current'));
    assert.ok(link.kind === 'link');
    assert.equal(link.resolved, realpathSync(real));
    assert.equal(originOf(link)?.follows, true);
    // a link of another owner to a directory not theirs is not a watch path to follow
    assert.equal(originOf({ ...link, linkUid: 1000 }), null);
    assert.notEqual(originOf({ ...link, linkUid: 1000, id: { ...link.id, uid: 1000 } }), null);
    assert.equal(lookAtRoot(join(tmp.path, 'none')).kind, 'missing');
    // the attack: the root moved away and a link put in its place
    renameSync(real, `${real}.old`);
    symlinkSync(tmp.path, real);
    const origin = originOf(dir);
    assert.ok(origin !== null);
    assert.equal(judgeRoot(origin, lookAtRoot(real)), 'replaced');
  } finally {
    await tmp.remove();
  }
});

test('degradedReasons: every reason once, in a fixed order', () => {
  assert.deepEqual(degradedReasons(null, [], 'inotify'), []);
  assert.deepEqual(degradedReasons(null, [], 'chokidar'), ['fallback-watcher']);
  assert.deepEqual(
    degradedReasons(
      'watcher-restarting',
      [
        { path: 'b', reason: 'unmounted' },
        { path: 'a', reason: 'watch-limit' },
        { path: 'c', reason: 'watch-limit' },
      ],
      'inotify',
    ),
    ['watcher-restarting', 'watch-limit', 'unmounted'],
  );
  assert.deepEqual(degradedReasons('root-replaced', [], null), ['root-replaced']);
});
