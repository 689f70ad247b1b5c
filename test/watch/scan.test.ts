/** The native tree scan (native/inotify.c `scan`) on real trees: what it watches, in what order. */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fromBytes } from '../../src/paths.js';
import { WATCH_MASK } from '../../src/watch/inotify-events.js';
import { loadInotifyBinding, type InotifyBinding, type ScanEntries } from '../../src/watch/native.js';
import { tempDir } from '../helpers/tmp.js';

const load = loadInotifyBinding();

/** Each scanned entry as its path below the scan's start ('' for the start), in scan order. */
function paths(found: ScanEntries): string[] {
  const out: string[] = [];
  for (let i = 0; i < found.wd.length; i++) {
    const parent = found.parent[i] ?? -1;
    out.push(parent < 0 ? '' : [out[parent], found.name[i]].filter((p) => p !== '').join('/'));
  }
  return out;
}

describe('native scan', { skip: load.ok ? undefined : 'the binding did not load' }, () => {
  const binding = (load.ok ? load.binding : undefined) as InotifyBinding;
  let tmp: { path: string; remove: () => Promise<void> };
  const odd = Buffer.from([0x6f, 0xff, 0x0a]); // o, a stray byte, a newline
  before(async () => {
    tmp = await tempDir();
    for (const d of ['a/b/c', 'a/skip/deep', 'e', 'x/skip'])
      mkdirSync(`${tmp.path}/t/${d}`, { recursive: true });
    mkdirSync(Buffer.concat([Buffer.from(`${tmp.path}/t/e/`), odd]));
    writeFileSync(`${tmp.path}/t/a/file`, 'x');
    symlinkSync('../e', `${tmp.path}/t/a/link`);
    symlinkSync('/', `${tmp.path}/t/root-link`);
  });
  after(() => tmp.remove());

  const scan = (rel: string, lstatAll: boolean, skip: ((rel: string) => boolean) | null): ScanEntries => {
    const handle = binding.open(() => undefined);
    try {
      const dir = Buffer.from(rel === '' ? `${tmp.path}/t` : `${tmp.path}/t/${rel}`);
      return binding.scan(handle, dir, rel, WATCH_MASK, lstatAll, skip);
    } finally {
      binding.close(handle);
    }
  };

  for (const lstatAll of [false, true]) {
    test(`every directory, each after its parent, no file or symlink${lstatAll ? ' (lstat of every entry, <fileSystem xfs="true">)' : ''}`, () => {
      const found = scan('', lstatAll, null);
      const got = paths(found);
      const expected = [
        '',
        'a',
        'a/b',
        'a/b/c',
        'a/skip',
        'a/skip/deep',
        'e',
        `e/${fromBytes(odd)}`,
        'x',
        'x/skip',
      ];
      assert.deepEqual([...got].sort(), expected.sort());
      assert.equal(found.failures.length, 0);
      assert.ok(
        [...found.wd].every((wd) => wd > 0),
        'every one watched',
      );
      assert.equal(new Set(found.wd).size, found.wd.length, 'one wd each');
      for (let i = 1; i < found.wd.length; i++) assert.ok((found.parent[i] ?? i) < i, 'a parent comes first');
    });
  }

  test('skip sees paths relative to the watch root (also when scanning a subtree) and leaves out all below', () => {
    const asked: string[] = [];
    const skip = (rel: string): boolean => {
      asked.push(rel);
      return rel.endsWith('/skip');
    };
    assert.deepEqual(
      paths(scan('', false, skip)).sort(),
      ['', 'a', 'a/b', 'a/b/c', 'e', `e/${fromBytes(odd)}`, 'x'].sort(),
    );
    assert.ok(!asked.includes('a/skip/deep'), 'nothing below a skipped directory is looked at');
    asked.length = 0;
    assert.deepEqual(paths(scan('a', false, skip)).sort(), ['', 'b', 'b/c'].sort());
    assert.deepEqual(asked.sort(), ['a/b', 'a/b/c', 'a/skip'].sort());
  });

  test('an exception in skip is thrown by scan', () => {
    assert.throws(
      () =>
        scan('', false, () => {
          throw new Error('filter broke');
        }),
      /filter broke/,
    );
  });

  test('a start that is gone is entry 0 with its errno; a symlink start is refused', () => {
    const gone = scan('missing', false, null);
    assert.equal(gone.wd.length, 1);
    assert.equal(gone.wd[0], -1);
    assert.deepEqual(
      gone.failures.map((f) => [f.index, f.error.code, f.error.syscall]),
      [[0, 'ENOENT', 'inotify_add_watch']],
    );
    const link = scan('root-link', false, null);
    assert.equal(link.wd[0], -1, 'IN_DONT_FOLLOW: not watched through the link');
    assert.equal(link.wd.length, 1, 'and not walked');
  });
});
