/**
 * The translator on hand-made raw events: the cases a real tree cannot produce on demand (a read
 * ending between IN_MOVED_FROM and IN_MOVED_TO, stray wds, the root's own events).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RelPath } from '../../src/paths.js';
import { IN, type RawInotifyEvent } from '../../src/watch/inotify-events.js';
import { EventTranslator, type Step } from '../../src/watch/translate.js';
import type { WatchEvent } from '../../src/watch/types.js';
import { WatchTree } from '../../src/watch/watch-tree.js';

const ROOT = 1;
const A = 2; // a
const B = 3; // a/b
const D = 4; // d

function setup(skipDir: (rel: RelPath) => boolean = () => false): { tree: WatchTree; tr: EventTranslator } {
  const tree = new WatchTree();
  const root = tree.setRoot(ROOT);
  const a = tree.place(A, root, 'a').node;
  tree.place(B, a, 'b');
  tree.place(D, root, 'd');
  return { tree, tr: new EventTranslator(tree, skipDir) };
}

const ev = (wd: number, mask: number, name = '', cookie = 0): RawInotifyEvent => ({ wd, mask, cookie, name });

const events = (steps: readonly Step[]): WatchEvent[] =>
  steps.flatMap((s) => (s.do === 'emit' ? [s.event] : []));

/** The steps with directory nodes replaced by their paths, to compare as plain data. */
function plain(tree: WatchTree, steps: readonly Step[]): unknown[] {
  return steps.map((s) => (s.do === 'watch' ? { do: 'watch', at: tree.pathOf(s.parent), name: s.name } : s));
}

test('file events: create, write, modify, attrib, delete, with paths from the wd tree', () => {
  const { tr } = setup();
  const steps = [
    ...tr.translate([
      ev(B, IN.CREATE, 'f'),
      ev(B, IN.MODIFY, 'f'),
      ev(B, IN.CLOSE_WRITE, 'f'),
      ev(ROOT, IN.ATTRIB, 'g'),
      ev(A, IN.DELETE, 'h'),
    ]),
  ];
  assert.deepEqual(events(steps), [
    { type: 'create', path: 'a/b/f', isDir: false },
    { type: 'modify', path: 'a/b/f' },
    { type: 'write', path: 'a/b/f' },
    { type: 'attrib', path: 'g', isDir: false },
    { type: 'delete', path: 'a/h', isDir: false },
  ]);
});

test('a new directory is watched before its create is emitted; a skipped one is not watched', () => {
  const { tree, tr } = setup((rel) => rel.endsWith('.git'));
  const steps = [...tr.translate([ev(A, IN.CREATE | IN.ISDIR, 'new'), ev(A, IN.CREATE | IN.ISDIR, '.git')])];
  assert.deepEqual(plain(tree, steps), [
    { do: 'watch', at: 'a', name: 'new' },
    { do: 'emit', event: { type: 'create', path: 'a/new', isDir: true } },
    { do: 'emit', event: { type: 'create', path: 'a/.git', isDir: true } },
  ]);
});

test('a directory renamed within the tree: rename, and its subtree paths follow', () => {
  const { tree, tr } = setup();
  const steps = [
    ...tr.translate([ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'a', 9), ev(D, IN.MOVED_TO | IN.ISDIR, 'x', 9)]),
  ];
  assert.deepEqual(events(steps), [{ type: 'rename', from: 'a', to: 'd/x', isDir: true }]);
  assert.equal(tree.pathOf(tree.get(B) ?? assert.fail()), 'd/x/b');
  assert.deepEqual(events([...tr.translate([ev(B, IN.CLOSE_WRITE, 'f')])]), [
    { type: 'write', path: 'd/x/b/f' },
  ]);
});

test('a rename split across two reads is still one rename', () => {
  const { tr } = setup();
  assert.deepEqual(
    [...tr.translate([ev(B, IN.CREATE, 'before'), ev(ROOT, IN.MOVED_FROM, 'f', 7)])],
    [{ do: 'emit', event: { type: 'create', path: 'a/b/before', isDir: false } }],
  );
  assert.equal(tr.waiting, true);
  assert.deepEqual(events([...tr.translate([ev(A, IN.MOVED_TO, 'g', 7), ev(ROOT, IN.CREATE, 'after')])]), [
    { type: 'rename', from: 'f', to: 'a/g', isDir: false },
    { type: 'create', path: 'after', isDir: false },
  ]);
  assert.equal(tr.waiting, false);
});

test('interleaved events between a MOVED_FROM and its MOVED_TO keep their order', () => {
  const { tr } = setup();
  const steps = [
    ...tr.translate([
      ev(ROOT, IN.MOVED_FROM, 'f', 7),
      ev(B, IN.CLOSE_WRITE, 'other'),
      ev(ROOT, IN.MOVED_TO, 'g', 7),
    ]),
  ];
  assert.deepEqual(events(steps), [
    { type: 'write', path: 'a/b/other' },
    { type: 'rename', from: 'f', to: 'g', isDir: false },
  ]);
});

test('no partner in the next read: move-out in its place, and the moved tree goes silent', () => {
  const { tree, tr } = setup();
  assert.deepEqual([...tr.translate([ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'a', 5)])], []);
  const steps = [
    ...tr.translate([ev(B, IN.CLOSE_WRITE, 'written-after-the-move'), ev(ROOT, IN.CREATE, 'f')]),
  ];
  assert.deepEqual(
    steps.map((s) => (s.do === 'unwatch' ? { do: 'unwatch', wds: [...s.wds].sort() } : s)),
    [
      { do: 'unwatch', wds: [A, B] },
      { do: 'emit', event: { type: 'move-out', path: 'a', isDir: true } },
      { do: 'emit', event: { type: 'create', path: 'f', isDir: false } },
    ],
  );
  assert.equal(tree.get(A), undefined);
});

test('no read at all: finish() turns the waiting MOVED_FROM into a move-out', () => {
  const { tr } = setup();
  assert.deepEqual([...tr.translate([ev(A, IN.MOVED_FROM, 'f', 3)])], []);
  assert.deepEqual(events([...tr.finish()]), [{ type: 'move-out', path: 'a/f', isDir: false }]);
  assert.equal(tr.waiting, false);
  assert.deepEqual([...tr.finish()], []);
});

test('a MOVED_TO without a MOVED_FROM: move-in, a directory watched first', () => {
  const { tree, tr } = setup();
  assert.deepEqual(
    plain(tree, [...tr.translate([ev(D, IN.MOVED_TO | IN.ISDIR, 't', 4), ev(D, IN.MOVED_TO, 'u', 5)])]),
    [
      { do: 'watch', at: 'd', name: 't' },
      { do: 'emit', event: { type: 'move-in', path: 'd/t', isDir: true } },
      { do: 'emit', event: { type: 'move-in', path: 'd/u', isDir: false } },
    ],
  );
});

test('renames into and out of skipped directories drop or add watches', () => {
  const { tree, tr } = setup((rel) => rel.split('/').includes('skip'));
  const into = [
    ...tr.translate([
      ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'a', 1),
      ev(ROOT, IN.MOVED_TO | IN.ISDIR, 'skip', 1),
    ]),
  ];
  assert.deepEqual(plain(tree, into).slice(-1), [
    { do: 'emit', event: { type: 'rename', from: 'a', to: 'skip', isDir: true } },
  ]);
  assert.deepEqual(into[0]?.do === 'unwatch' ? [...into[0].wds].sort() : into[0], [A, B]);
  const outOf = [
    ...tr.translate([
      ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'skip', 2),
      ev(D, IN.MOVED_TO | IN.ISDIR, 'back', 2),
    ]),
  ];
  assert.deepEqual(plain(tree, outOf), [
    { do: 'watch', at: 'd', name: 'back' },
    { do: 'emit', event: { type: 'rename', from: 'skip', to: 'd/back', isDir: true } },
  ]);
});

test('a directory deleted, then stray events from its wd: ignored, never a crash', () => {
  const { tree, tr } = setup();
  const steps = [
    ...tr.translate([
      ev(B, IN.DELETE_SELF),
      ev(B, IN.IGNORED),
      ev(A, IN.DELETE | IN.ISDIR, 'b'),
      ev(B, IN.CLOSE_WRITE, 'late'),
      ev(42, IN.CREATE, 'unknown-wd'),
    ]),
  ];
  assert.deepEqual(events(steps), [{ type: 'delete', path: 'a/b', isDir: true }]);
  assert.equal(tree.get(B), undefined);
  assert.equal(tree.size, 3);
});

test('a directory’s own events (no name) are left to its parent; the root’s attrib is reported', () => {
  const { tr } = setup();
  const steps = [...tr.translate([ev(A, IN.ATTRIB | IN.ISDIR), ev(ROOT, IN.ATTRIB | IN.ISDIR)])];
  assert.deepEqual(events(steps), [{ type: 'attrib', path: '', isDir: true }]);
});

test('the root deleted or moved: one root-gone, then nothing', () => {
  for (const self of [IN.DELETE_SELF, IN.MOVE_SELF, IN.UNMOUNT]) {
    const { tr } = setup();
    const steps = [
      ...tr.translate([
        ev(A, IN.DELETE, 'f'),
        ev(ROOT, self),
        ev(ROOT, IN.IGNORED),
        ev(A, IN.CREATE, 'after'),
      ]),
    ];
    assert.deepEqual(
      steps.map((s) => s.do),
      ['emit', 'stop', 'emit'],
    );
    assert.deepEqual(events(steps).slice(-1), [{ type: 'root-gone' }]);
    assert.deepEqual([...tr.translate([ev(A, IN.CREATE, 'later')])], []);
  }
});

test('IN_Q_OVERFLOW asks for a rewatch and an overflow event', () => {
  const { tr } = setup();
  assert.deepEqual([...tr.translate([ev(-1, IN.Q_OVERFLOW)])], [{ do: 'overflow' }]);
});

test('translation is lazy: events after an overflow see the tree as the rewatch left it', () => {
  const { tree, tr } = setup();
  const steps = tr.translate([ev(-1, IN.Q_OVERFLOW), ev(A, IN.CREATE | IN.ISDIR, 'new')]);
  assert.deepEqual(steps.next().value, { do: 'overflow' });
  const a = tree.place(A, tree.setRoot(ROOT), 'a').node; // what the rewatch does: fresh nodes
  const next = steps.next().value;
  assert.ok(next?.do === 'watch' && next.parent === a, 'the new directory goes under the fresh node');
});

test('a rename into a directory we no longer know is a move-out, never lost', () => {
  const { tree, tr } = setup();
  const STALE = 99; // a wd whose directory left our map (e.g. believed moved out earlier)
  const steps = [
    ...tr.translate([ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'd', 7), ev(STALE, IN.MOVED_TO | IN.ISDIR, 'x', 7)]),
  ];
  assert.deepEqual(events(steps), [{ type: 'move-out', path: 'd', isDir: true }]);
  assert.equal(tree.get(D), undefined, 'its watches are dropped like any move-out');
});

test('a paired MOVED_FROM survives a wait on a later unpaired one', () => {
  const { tr } = setup();
  const first = [
    ...tr.translate([
      ev(ROOT, IN.MOVED_FROM, 'f', 1), // paired: its MOVED_TO is in this read
      ev(A, IN.MOVED_FROM, 'g', 2), // unpaired so far: waits, and everything after it
      ev(B, IN.MOVED_TO, 'f2', 1),
    ]),
  ];
  assert.deepEqual(events(first), []);
  const second = [...tr.translate([ev(D, IN.MOVED_TO, 'g2', 2)])];
  assert.deepEqual(events(second), [
    { type: 'rename', from: 'f', to: 'a/b/f2', isDir: false },
    { type: 'rename', from: 'a/g', to: 'd/g2', isDir: false },
  ]);
});

test('an exchange (renameat2 RENAME_EXCHANGE) read at once: both names watched again and sent whole', () => {
  const { tree, tr } = setup();
  const steps = [
    ...tr.translate([
      ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'a', 7),
      ev(ROOT, IN.MOVED_TO | IN.ISDIR, 'd', 7),
      ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'd', 8),
      ev(ROOT, IN.MOVED_TO | IN.ISDIR, 'a', 8),
    ]),
  ];
  assert.deepEqual(plain(tree, steps), [
    { do: 'unwatch', wds: [A, B, D] },
    { do: 'watch', at: '', name: 'a' },
    { do: 'watch', at: '', name: 'd' },
    ...['a', 'd'].map((path) => ({ do: 'emit', event: { type: 'move-out', path, isDir: true } })),
    ...['a', 'd'].map((path) => ({ do: 'emit', event: { type: 'move-in', path, isDir: true } })),
  ]);
});

test('an exchange split across reads, or a directory renamed over an empty one: the names are watched again and sent whole', () => {
  const swappedSteps = (names: readonly [string, boolean, boolean][]): unknown[] => [
    ...names.filter(([, , isDir]) => isDir).map(([name]) => ({ do: 'watch', at: '', name })),
    ...names.map(([path, wasDir]) => ({ do: 'emit', event: { type: 'move-out', path, isDir: wasDir } })),
    ...names.map(([path, , isDir]) => ({ do: 'emit', event: { type: 'move-in', path, isDir } })),
  ];
  {
    // a directory onto a watched directory's name
    const { tree, tr } = setup();
    const steps = [
      ...tr.translate([ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'a', 7), ev(ROOT, IN.MOVED_TO | IN.ISDIR, 'd', 7)]),
    ];
    assert.deepEqual(plain(tree, steps), [
      { do: 'unwatch', wds: [A, B, D] },
      ...swappedSteps([
        ['a', true, true],
        ['d', true, true],
      ]),
    ]);
  }
  {
    // a file onto a directory's name: only an exchange does that
    const { tree, tr } = setup();
    const steps = [...tr.translate([ev(ROOT, IN.MOVED_FROM, 'f', 7), ev(ROOT, IN.MOVED_TO, 'd', 7)])];
    assert.deepEqual(plain(tree, steps), [
      { do: 'unwatch', wds: [D] },
      ...swappedSteps([
        ['f', false, true],
        ['d', true, false],
      ]),
    ]);
  }
  {
    // a directory onto a file's name (a plain rename, as far as one read tells), then, in the next
    // read, the file moved from the name the directory now holds
    const { tree, tr } = setup();
    const first = [
      ...tr.translate([ev(ROOT, IN.MOVED_FROM | IN.ISDIR, 'd', 7), ev(ROOT, IN.MOVED_TO | IN.ISDIR, 'f', 7)]),
    ];
    assert.deepEqual(events(first), [{ type: 'rename', from: 'd', to: 'f', isDir: true }]);
    const second = [...tr.translate([ev(ROOT, IN.MOVED_FROM, 'f', 8), ev(ROOT, IN.MOVED_TO, 'd', 8)])];
    assert.deepEqual(plain(tree, second), [
      { do: 'unwatch', wds: [D] },
      ...swappedSteps([
        ['f', true, true],
        ['d', true, false],
      ]),
    ]);
  }
});
