import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { applyPaced, churnPlan } from './churn-ops.js';
import { listTree, writeTree } from './fixtures.js';

test('churnPlan: every operation applies to the real tree, which ends as the plan says', async () => {
  const tmp = await tempDir('sersync-churn-ops-');
  try {
    const root = join(tmp.path, 'tree');
    writeTree(root, { files: 200, dirs: 5, fileBytes: 16 });
    const { ops, end } = churnPlan(7, 3_000, listTree(root));
    await applyPaced(root, ops, 0); // throws on the first operation that is not possible
    const actual = listTree(root);
    assert.deepEqual([...actual.files].sort(), [...end.files].sort());
    assert.deepEqual([...actual.dirs].sort(), [...end.dirs].sort());
  } finally {
    await tmp.remove();
  }
});

test('churnPlan: the same seed gives the same plan, and it uses every kind of operation', () => {
  const start = { dirs: ['', 'a', 'b', 'c'], files: ['a/1', 'b/2', 'c/3'] };
  const one = churnPlan(42, 2_000, start);
  assert.deepEqual(churnPlan(42, 2_000, start), one);
  assert.notDeepEqual(churnPlan(43, 2_000, start).ops, one.ops);
  assert.equal(one.ops.length, 2_000);
  const kinds = new Set(
    one.ops.map((o) => (o.kind === 'rename' && !o.to.endsWith('.dat') ? 'rename dir' : o.kind)),
  );
  assert.deepEqual([...kinds].sort(), [
    'append',
    'delete',
    'mkdir',
    'rename',
    'rename dir',
    'rmtree',
    'write',
  ]);
});
