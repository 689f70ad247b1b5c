import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WatchTree, type DirNode } from '../../src/watch/watch-tree.js';

/** root(1) / a(2) / b(3) / c(4), and root / d(5) */
function sample(): { tree: WatchTree; root: DirNode; a: DirNode; b: DirNode; c: DirNode; d: DirNode } {
  const tree = new WatchTree();
  const root = tree.setRoot(1);
  const a = tree.place(2, root, 'a').node;
  const b = tree.place(3, a, 'b').node;
  const c = tree.place(4, b, 'c').node;
  const d = tree.place(5, root, 'd').node;
  return { tree, root, a, b, c, d };
}

test('paths derive from the parent chain', () => {
  const { tree, root, c } = sample();
  assert.equal(tree.pathOf(root), '');
  assert.equal(tree.pathOf(c), 'a/b/c');
  assert.equal(tree.size, 5);
});

test('moving a directory renames its whole subtree', () => {
  const { tree, a, c, d } = sample();
  assert.deepEqual(tree.move(a, d, 'renamed'), []);
  assert.equal(tree.pathOf(c), 'd/renamed/b/c');
  assert.equal(tree.childOf(d, 'renamed'), a);
});

test('detach forgets a subtree and returns its wds', () => {
  const { tree, root, a } = sample();
  assert.deepEqual(tree.detach(a).sort(), [2, 3, 4]);
  assert.equal(tree.size, 2);
  assert.equal(tree.get(3), undefined);
  assert.equal(tree.childOf(root, 'a'), undefined);
});

test('placing a known wd elsewhere moves it; a different directory at the target is replaced', () => {
  const { tree, root, b, d } = sample();
  const { node, replaced } = tree.place(3, root, 'd'); // b was moved over d
  assert.equal(node, b);
  assert.deepEqual(replaced, [5]);
  assert.equal(tree.get(5), undefined);
  assert.equal(tree.pathOf(tree.get(4) as DirNode), 'd/c');
  assert.notEqual(tree.childOf(root, 'd'), d);
});

test('placing the same wd at the same place changes nothing', () => {
  const { tree, a, b } = sample();
  assert.deepEqual(tree.place(3, a, 'b'), { node: b, replaced: [] });
  assert.equal(tree.size, 5);
});

test('a stale map never makes a directory its own ancestor', () => {
  const { tree, a, c } = sample();
  const { node } = tree.place(2, c, 'a-again'); // impossible on disk: only a stale map asks for it
  assert.equal(node, a);
  assert.equal(tree.pathOf(c), 'a/b/c', 'left as it was, and finite');
  assert.equal(tree.size, 5);
});

test('setRoot starts afresh', () => {
  const { tree } = sample();
  const root = tree.setRoot(1);
  assert.equal(tree.size, 1);
  assert.equal(tree.root, root);
  assert.deepEqual(tree.wds(), [1]);
});
