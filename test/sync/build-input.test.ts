import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { RsyncTask } from '../../src/sync/task.js';
import { fileClockNs, fileClockPast } from '../../src/sync/file-clock.js';
import { buildInput, newestChange, trustedSignatures } from '../../workers/rsync.js';
import { tempDir } from '../helpers/tmp.js';

const task = (cwd: string): RsyncTask => ({
  kind: 'send',
  cwd,
  args: [],
  input: null,
  filter: { excludes: [], ignoreDotFiles: false, own: [] },
  stallS: null,
  access: { reads: [], writes: [] },
});

test('send list: a file an earlier walk sent, unchanged since, is left out of a walk of a directory above it; one changed since is in', async (t) => {
  const dir = await tempDir();
  t.after(() => dir.remove());
  const src = dir.path;
  mkdirSync(join(src, 'd'));
  for (const f of ['a', 'b', 'c']) writeFileSync(join(src, 'd', f), f);
  const first = buildInput(task(src), { kind: 'files', paths: [], trees: ['d'], sentAs: new Map() }, true);
  assert.deepEqual(first.listed, ['d', 'd/a', 'd/b', 'd/c']);
  assert.notEqual(newestChange(first.stamps), null);
  // As once the file clock has passed the walk's files (rsync starts then).
  const sentAs = trustedSignatures(first.stamps, (newestChange(first.stamps) ?? 0n) + 1n);
  assert.equal(sentAs.size, 3, 'each walked file has its signature');
  await fileClockPast(newestChange(first.stamps) ?? 0n, 1000);
  writeFileSync(join(src, 'd', 'b'), 'changed, and longer');
  const again = buildInput(task(src), { kind: 'files', paths: [], trees: ['d'], sentAs }, true);
  assert.deepEqual(again.listed, ['d', 'd/b']);
  assert.deepEqual(again.list, ['./d', './d/b'], 'what rsync reads');
  assert.deepEqual(
    [...trustedSignatures(again.stamps, newestChange(again.stamps) ?? 0n).keys()].sort(),
    ['d/a', 'd/c'],
    'with the file clock still in the tick d/b changed in, only the others are trusted unchanged',
  );
  const unasked = buildInput(task(src), { kind: 'files', paths: [], trees: ['d'], sentAs }, false);
  assert.equal(unasked.listed, null);
});

test('file clock: files are stamped with it, and a change is trusted by its ctime, whatever its mtime says', async (t) => {
  const dir = await tempDir();
  t.after(() => dir.remove());
  const src = dir.path;
  const before = fileClockNs();
  writeFileSync(join(src, 'f'), 'x');
  // An mtime in the future, as `tar x` of an archive made on a clock ahead leaves it.
  utimesSync(join(src, 'f'), new Date(Date.now() + 86_400_000), new Date(Date.now() + 86_400_000));
  const input = buildInput(task(src), { kind: 'files', paths: [], trees: [''], sentAs: new Map() });
  const changed = newestChange(input.stamps) ?? -1n;
  assert.ok(
    changed >= before,
    `the file's ctime ${changed} is not below the clock read before the write ${before}`,
  );
  await fileClockPast(changed, 1000);
  assert.ok(fileClockNs() > changed, 'the clock passed the change within a second');
  assert.deepEqual([...trustedSignatures(input.stamps, fileClockNs()).keys()], ['f']);
});
