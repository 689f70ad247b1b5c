/** Which directory a watched root is: the verdicts as a table, and a look at real directories and links. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, lchownSync, mkdirSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import {
  judgeRoot,
  lookAtRoot,
  originOf,
  resolveWatchPath,
  type RootLook,
  type RootOrigin,
  type RootVerdict,
} from '../../src/sync/root-identity.js';
import { degradedReasons } from '../../src/sync/tree-watch.js';
import { tempDir } from '../helpers/tmp.js';

const ID = { dev: 1, ino: 100, uid: 0 };
const dirOrigin: RootOrigin = { follows: false, id: ID, resolved: '/srv/www' };
/** A link of uid 33 towards a directory of root's. */
const PLANTED = { path: '/srv/alice/site', uid: 33, targetUid: 0 };
const linkOrigin: RootOrigin = { follows: true, id: ID, resolved: '/srv/releases/1' };

test('judgeRoot: the same directory, gone, replaced, returned, switched', () => {
  const cases: [string, RootOrigin, RootLook, RootVerdict][] = [
    [
      'unchanged directory',
      dirOrigin,
      { kind: 'dir', id: ID, resolved: '/srv/www', untrusted: null },
      'same',
    ],
    ['deleted', dirOrigin, { kind: 'missing' }, 'gone'],
    ['a file in its place', dirOrigin, { kind: 'other' }, 'gone'],
    [
      'swapped for a symlink (the attack)',
      dirOrigin,
      { kind: 'link', id: { dev: 1, ino: 7, uid: 0 }, resolved: '/root/secret', untrusted: null },
      'replaced',
    ],
    [
      'a symlink even to itself is not the directory',
      dirOrigin,
      { kind: 'link', id: ID, resolved: '/srv/www', untrusted: null },
      'replaced',
    ],
    [
      "another user's directory in its place",
      dirOrigin,
      { kind: 'dir', id: { dev: 1, ino: 5, uid: 1000 }, resolved: '/srv/www', untrusted: null },
      'replaced',
    ],
    [
      'recreated or remounted by the same owner',
      dirOrigin,
      { kind: 'dir', id: { dev: 2, ino: 2, uid: 0 }, resolved: '/srv/www', untrusted: null },
      'returned',
    ],
    [
      'followed link, unchanged',
      linkOrigin,
      { kind: 'link', id: ID, resolved: '/srv/releases/1', untrusted: null },
      'same',
    ],
    [
      'followed link switched by a deploy user to their release',
      linkOrigin,
      { kind: 'link', id: { dev: 1, ino: 101, uid: 33 }, resolved: '/srv/releases/2', untrusted: null },
      'switched',
    ],
    [
      'followed link switched by another user to a directory not theirs',
      linkOrigin,
      { kind: 'link', id: { dev: 1, ino: 7, uid: 0 }, resolved: '/root/secret', untrusted: PLANTED },
      'replaced',
    ],
    [
      "a root's directory of the same owner, reached through another user's link on the way",
      dirOrigin,
      { kind: 'dir', id: { dev: 1, ino: 7, uid: 0 }, resolved: '/root/vault/www', untrusted: PLANTED },
      'replaced',
    ],
    [
      'followed link still naming its directory, but through a link on the way someone else switched',
      linkOrigin,
      { kind: 'link', id: ID, resolved: '/srv/releases/1', untrusted: PLANTED },
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
    assert.ok(dir.kind === 'dir');
    const link = lookAtRoot(join(tmp.path, 'current'));
    assert.ok(link.kind === 'link');
    assert.equal(link.resolved, realpathSync(real));
    assert.equal(originOf(link)?.follows, true);
    // a path through a link of another owner to a directory not theirs is not a watch path
    assert.equal(originOf({ ...link, untrusted: PLANTED }), null);
    assert.equal(originOf({ ...dir, untrusted: PLANTED }), null);
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

test('resolveWatchPath: the real path, and the first link on the way neither root nor its target owner made', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to give links other owners');
  const tmp = await tempDir();
  try {
    const real = (...p: string[]): string => join(realpathSync(tmp.path), ...p);
    mkdirSync(real('releases', 'r1'), { recursive: true });
    mkdirSync(real('secret', 'www'), { recursive: true });
    chownSync(real('releases', 'r1'), 1000, 1000);
    // current (root's) -> releases/live (uid 1000's) -> releases/r1 (uid 1000's): a deploy's chain
    symlinkSync('releases/live', real('current'));
    symlinkSync('r1', real('releases', 'live'));
    lchownSync(real('releases', 'live'), 1000, 1000);
    assert.deepEqual(resolveWatchPath(real('current')), {
      resolved: real('releases', 'r1'),
      untrusted: null,
    });
    assert.deepEqual(resolveWatchPath(join(real('current'), '..', 'secret')), {
      resolved: real('secret'),
      untrusted: null,
    });
    // live swapped by its owner for a link to root's directory
    rmSync(real('releases', 'live'));
    symlinkSync(real('secret', 'www'), real('releases', 'live'));
    lchownSync(real('releases', 'live'), 1000, 1000);
    const planted = { path: real('releases', 'live'), uid: 1000, targetUid: 0 };
    assert.deepEqual(resolveWatchPath(real('current')), {
      resolved: real('secret', 'www'),
      untrusted: planted,
    });
    // the same link as a parent of a root that is a directory
    assert.deepEqual(resolveWatchPath(real('releases', 'live')), {
      resolved: real('secret', 'www'),
      untrusted: planted,
    });
    symlinkSync(real('secret'), real('site'));
    lchownSync(real('site'), 1000, 1000);
    assert.deepEqual(resolveWatchPath(real('site', 'www')), {
      resolved: real('secret', 'www'),
      untrusted: { path: real('site'), uid: 1000, targetUid: 0 },
    });
    assert.equal(lookAtRoot(real('site', 'www')).kind, 'dir');
    assert.throws(() => resolveWatchPath(real('none')), { code: 'ENOENT' });
  } finally {
    await tmp.remove();
  }
});

test('a root that cannot be looked at (out of descriptors) is not judged gone: nothing changed that is known', () => {
  const origin = { follows: false, id: { dev: 1, ino: 2, uid: 0 }, resolved: '/srv/www' };
  assert.equal(judgeRoot(origin, { kind: 'unknown', why: 'EMFILE' }), 'unknown');
  assert.equal(judgeRoot(origin, { kind: 'missing' }), 'gone');
});
