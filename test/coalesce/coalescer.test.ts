import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../src/coalesce/coalescer.js';
import type { PathOp } from '../../src/coalesce/types.js';
import type { CoalescedChange as Change } from '../../src/filter/changes.js';

const sync = (path: string): Change => ({ kind: 'sync', path });
const created = (path: string): Change => ({ kind: 'new', path });
const tree = (path: string): Change => ({ kind: 'tree', path });
const del = (path: string, isDir = false): Change => ({ kind: 'delete', path, isDir });
const rename = (from: string, to: string, isDir = false): Change => ({ kind: 'rename', from, to, isDir });

function run(changes: readonly Change[]): PathOp[] {
  const c = new Coalescer();
  for (const ch of changes) c.apply(ch);
  return c.take();
}

const cases: { name: string; changes: Change[]; ops: PathOp[] }[] = [
  {
    name: 'repeated writes are one send',
    changes: [sync('a'), sync('a'), sync('a')],
    ops: [{ kind: 'sync', path: 'a' }],
  },
  {
    name: 'a file created and deleted before dispatch never travels',
    changes: [created('x'), sync('x'), del('x')],
    ops: [],
  },
  {
    name: 'sed -i: the temp file is renamed over the original, only the original is sent',
    changes: [created('sedAb12Cd'), sync('sedAb12Cd'), rename('sedAb12Cd', 's.txt')],
    ops: [{ kind: 'sync', path: 's.txt' }],
  },
  {
    name: 'a download renamed into place: the .part name never travels',
    changes: [created('f.iso.part'), sync('f.iso.part'), rename('f.iso.part', 'f.iso')],
    ops: [{ kind: 'sync', path: 'f.iso' }],
  },
  {
    name: 'a file that existed is deleted on the replica',
    changes: [sync('keep'), del('old')],
    ops: [
      { kind: 'delete', path: 'old', isDir: false },
      { kind: 'sync', path: 'keep' },
    ],
  },
  {
    name: 'rm -rf swallows everything queued below the directory',
    changes: [
      sync('d/a'),
      sync('d/e/b'),
      del('d/e/b'),
      del('d/e', true),
      del('d/a'),
      del('d', true),
      sync('other'),
    ],
    ops: [
      { kind: 'delete', path: 'd', isDir: true },
      { kind: 'sync', path: 'other' },
    ],
  },
  {
    name: 'a new directory is one recursive send covering what is written into it',
    changes: [tree('n'), tree('n/a'), created('n/a/f'), sync('n/a/f'), sync('n/g')],
    ops: [{ kind: 'tree', path: 'n' }],
  },
  {
    name: 'a directory renamed within the tree is sent against its old name, then the old name removed; a file written after the rename is sent after the move',
    changes: [rename('p/old', 'p/new', true), sync('p/new/written-after')],
    ops: [
      { kind: 'move', path: 'p/new', from: 'p/old' },
      { kind: 'delete', path: 'p/old', isDir: true },
      { kind: 'sync', path: 'p/new/written-after' },
    ],
  },
  {
    name: 'an edit pending below a directory when it is renamed travels with it: sent after the move (cp -r; sed -i; mv)',
    changes: [
      sync('build/app.conf'),
      sync('build/other'),
      rename('build', 'site', true),
      rename('site', 'site2', true),
    ],
    ops: [
      { kind: 'move', path: 'site2', from: 'build' },
      { kind: 'delete', path: 'build', isDir: true },
      { kind: 'sync', path: 'site2/app.conf' },
      { kind: 'sync', path: 'site2/other' },
    ],
  },
  {
    name: 'renamed twice before dispatch: the first name on the replica is the basis',
    changes: [rename('a', 'b', true), rename('b', 'c', true)],
    ops: [
      { kind: 'move', path: 'c', from: 'a' },
      { kind: 'delete', path: 'a', isDir: true },
    ],
  },
  {
    name: 'a directory created and renamed before dispatch is sent whole under its new name',
    changes: [tree('tmpdir'), rename('tmpdir', 'final', true)],
    ops: [{ kind: 'tree', path: 'final' }],
  },
  {
    name: 'a directory replaced by a new one: removal first, then the new contents',
    changes: [del('d/x'), del('d', true), tree('d')],
    ops: [
      { kind: 'delete', path: 'd', isDir: true },
      { kind: 'tree', path: 'd' },
    ],
  },
  {
    name: 'a file replaced by a directory of the same name',
    changes: [del('f'), tree('f')],
    ops: [
      { kind: 'delete', path: 'f', isDir: false },
      { kind: 'tree', path: 'f' },
    ],
  },
  {
    name: 'a file renamed: old name removed, new name sent',
    changes: [rename('a.txt', 'b.txt')],
    ops: [
      { kind: 'delete', path: 'a.txt', isDir: false },
      { kind: 'sync', path: 'b.txt' },
    ],
  },
  {
    name: 'a directory renamed onto a path being removed is sent whole (removals run after moves)',
    changes: [del('dst', true), rename('src', 'dst', true)],
    ops: [
      { kind: 'delete', path: 'dst', isDir: true },
      { kind: 'delete', path: 'src', isDir: true },
      { kind: 'tree', path: 'dst' },
    ],
  },
  {
    name: 'a renamed directory deleted again: only the old name is removed',
    changes: [rename('old', 'new', true), del('new', true)],
    ops: [{ kind: 'delete', path: 'old', isDir: true }],
  },
  {
    name: 'files moved in or renamed under a renamed directory are sent after the move; a file renamed there is also removed by its old name',
    changes: [rename('old', 'new', true), sync('new/moved-in.txt'), rename('new/x', 'new/y')],
    ops: [
      { kind: 'move', path: 'new', from: 'old' },
      { kind: 'delete', path: 'old', isDir: true },
      { kind: 'delete', path: 'new/x', isDir: false },
      { kind: 'sync', path: 'new/moved-in.txt' },
      { kind: 'sync', path: 'new/y' },
    ],
  },
  {
    name: 'a delete below a directory about to be sent whole is kept: the replica may hold it already',
    changes: [tree('d'), del('d/sent-earlier')],
    ops: [
      { kind: 'delete', path: 'd/sent-earlier', isDir: false },
      { kind: 'tree', path: 'd' },
    ],
  },
  {
    name: 'an overflow turns everything into one full resync',
    changes: [sync('a'), del('b'), { kind: 'resync' }, sync('c')],
    ops: [{ kind: 'full', path: '' }],
  },
];

for (const c of cases) {
  test(`coalescer: ${c.name}`, () => {
    assert.deepEqual(run(c.changes), c.ops);
  });
}

test('coalescer: a created file without content yet waits, and is sent once written', () => {
  const c = new Coalescer();
  c.apply(created('big.iso'));
  assert.deepEqual(c.take(), []);
  assert.deepEqual(c.outstanding(), [{ kind: 'sync', path: 'big.iso' }], 'still owed to the replica');
  assert.equal(c.size, 0);
  c.apply(sync('big.iso'));
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'big.iso' }]);
});

test('coalescer: a file created in one batch and deleted in the next still never travels', () => {
  const c = new Coalescer();
  c.apply(created('tmp'));
  c.apply(sync('other'));
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'other' }]);
  c.apply(del('tmp'));
  assert.deepEqual(c.take(), []);
});

test('coalescer: a failed removal put back under a newer send still runs first', () => {
  const c = new Coalescer();
  c.apply(tree('d'));
  c.restore({ kind: 'delete', path: 'd', isDir: true });
  assert.deepEqual(c.take(), [
    { kind: 'delete', path: 'd', isDir: true },
    { kind: 'tree', path: 'd' },
  ]);
});

test('coalescer: a failed send put back does not override a newer delete', () => {
  const c = new Coalescer();
  c.apply(del('f'));
  c.restore({ kind: 'sync', path: 'f' });
  assert.deepEqual(c.take(), [{ kind: 'delete', path: 'f', isDir: false }]);
});

test('coalescer: operations put back from the queue are dispatched', () => {
  const c = new Coalescer();
  c.restore({ kind: 'move', path: 'n', from: 'o' });
  c.restore({ kind: 'sync', path: 'f' });
  c.restore({ kind: 'tree', path: 'd' });
  c.restore({ kind: 'sync', path: 'g' }, true);
  // a send alone crosses once; one whose row took over a removal's row owes that removal first
  assert.deepEqual(c.take(), [
    { kind: 'move', path: 'n', from: 'o' },
    { kind: 'delete', path: 'g', isDir: false },
    { kind: 'sync', path: 'f' },
    { kind: 'tree', path: 'd', prune: true },
    { kind: 'sync', path: 'g' },
  ]);
});

test('coalescer: sends below a directory in flight when it is renamed are sent again under the new name after the move', () => {
  const c = new Coalescer();
  c.apply(sync('x/f2'));
  c.apply(tree('x/sub'));
  const sends = c.take();
  assert.deepEqual(sends, [
    { kind: 'sync', path: 'x/f2' },
    { kind: 'tree', path: 'x/sub' },
  ]);
  // in flight: x renamed to d; the sends above find nothing and x's old copy is the move's basis
  c.apply(rename('x', 'd', true));
  c.landed(sends);
  assert.deepEqual(c.take(), [
    { kind: 'move', path: 'd', from: 'x' },
    { kind: 'delete', path: 'x', isDir: true },
    { kind: 'sync', path: 'd/f2' },
    { kind: 'tree', path: 'd/sub' },
  ]);
});

test('coalescer: a file made before a walk that landed, whose creation came in after, is removed when it goes; once the changes are in, one made later never travels', () => {
  const c = new Coalescer();
  c.apply(tree('d'));
  const walk = c.take();
  // the walk of d listed d/f, made just before it ran; its events come in after the batch landed
  c.landed(walk);
  c.apply(created('d/f'));
  c.apply(sync('d/f'));
  c.apply(rename('d/f', 'g'));
  assert.deepEqual(c.take(), [
    { kind: 'delete', path: 'd/f', isDir: false },
    { kind: 'sync', path: 'g' },
  ]);
  c.settled(walk);
  c.apply(created('d/tmp'));
  c.apply(sync('d/tmp'));
  c.apply(del('d/tmp'));
  assert.deepEqual(c.take(), []);
});

test('coalescer: a new directory a batch in flight or not settled may hold is sent pruned; one no batch holds, plainly', () => {
  const c = new Coalescer();
  c.apply(tree('p'));
  const walk = c.take();
  // p/d made while the walk of p runs: the walk may send what is made in p/d before its watch
  c.apply(tree('p/d'));
  c.apply(tree('q'));
  c.landed(walk);
  assert.deepEqual(c.take(), [
    { kind: 'tree', path: 'p/d', prune: true },
    { kind: 'tree', path: 'q' },
  ]);
  c.apply(tree('p/e'));
  assert.deepEqual(c.take(), [{ kind: 'tree', path: 'p/e', prune: true }], 'the walk of p not settled yet');
  c.settled(walk);
  c.apply(tree('p/f'));
  assert.deepEqual(c.take(), [{ kind: 'tree', path: 'p/f' }]);
  // a tree put back from the queue prunes: the queue keeps no prune, and the one that failed may have
  c.restore({ kind: 'tree', path: 'r' });
  assert.deepEqual(c.take(), [{ kind: 'tree', path: 'r', prune: true }]);
});
