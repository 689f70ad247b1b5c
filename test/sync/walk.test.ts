import assert from 'node:assert/strict';
import { closeSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { absoluteBytes, openTreeDir, realRoot, walkTree } from '../../src/sync/walk.js';
import { tempDir } from '../helpers/tmp.js';

/** What `walkTree(root, start)` lists, sorted. */
function listed(root: string, start: string): string[] {
  const out: string[] = [];
  walkTree(
    root,
    start,
    () => false,
    (p, isDir) => out.push(isDir ? `${p}/` : p),
  );
  return out.sort();
}

test('walk: never leaves the tree through a symlink, wherever the link is', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const root = join(work.path, 'tree');
  const outside = join(work.path, 'outside');
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'sub', 'secret.txt'), 'outside');
  mkdirSync(join(root, 'real'), { recursive: true });
  writeFileSync(join(root, 'real', 'f.txt'), 'inside');
  symlinkSync(outside, join(root, 'real', 'link')); // an entry inside the tree
  symlinkSync(outside, join(root, 'swapped')); // a directory swapped for a link before its walk
  assert.deepEqual(listed(root, ''), ['real/', 'real/f.txt', 'real/link', 'swapped']);
  assert.deepEqual(listed(root, 'swapped'), []);
  assert.deepEqual(listed(root, 'swapped/sub'), [], 'a parent that is a link');
  assert.deepEqual(listed(root, 'real/link/sub'), [], 'a parent further up that is a link');
  assert.deepEqual(
    listed(join(root, 'real', 'link'), ''),
    ['sub/', 'sub/secret.txt'],
    'a root named through a link is followed',
  );
});

test('walk: a root of / joins its entries with one slash, so that they are found where the kernel has them', () => {
  assert.equal(absoluteBytes('/', 'etc').toString(), '/etc');
  assert.equal(absoluteBytes('/srv/www', 'a/b').toString(), '/srv/www/a/b');
  const fd = openTreeDir(realRoot('/'), 'etc');
  assert.notEqual(fd, null);
  if (fd !== null) closeSync(fd);
});
