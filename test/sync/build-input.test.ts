import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RsyncTask } from '../../src/sync/task.js';
import { buildInput } from '../../workers/rsync.js';
import { tempDir } from '../helpers/tmp.js';

const task = (cwd: string): RsyncTask => ({
  kind: 'send',
  cwd,
  args: [],
  input: null,
  filter: { excludes: [], ignoreDotFiles: false },
  stallS: null,
});

test('send list: a file an earlier walk sent, unchanged since, is left out of a walk of a directory above it; one changed since is in', async (t) => {
  const src = await tempDir();
  t.after(() => src.remove());
  mkdirSync(join(src.path, 'd'));
  for (const f of ['a', 'b', 'c']) writeFileSync(join(src.path, 'd', f), f);
  // Not a synchronisation: files changed in the clock tick a walk runs in are not trusted unchanged.
  await new Promise((resolve) => setTimeout(resolve, 25));
  const first = buildInput(
    task(src.path),
    { kind: 'files', paths: [], trees: ['d'], sentAs: new Map() },
    true,
  );
  assert.deepEqual(first.listed, ['d', 'd/a', 'd/b', 'd/c']);
  const sentAs = new Map(first.signatures);
  assert.equal(sentAs.size, 3, 'each walked file has its signature');
  writeFileSync(join(src.path, 'd', 'b'), 'changed, and longer');
  const again = buildInput(task(src.path), { kind: 'files', paths: [], trees: ['d'], sentAs }, true);
  assert.deepEqual(again.listed, ['d', 'd/b']);
  assert.deepEqual(again.list, ['./d', './d/b'], 'what rsync reads');
  assert.deepEqual(
    [...again.signatures.keys()].sort(),
    ['d/a', 'd/c'],
    'the files left out keep their signatures for the next check (d/b, changed this tick, is not trusted yet)',
  );
  const unasked = buildInput(task(src.path), { kind: 'files', paths: [], trees: ['d'], sentAs }, false);
  assert.equal(unasked.listed, null);
});
