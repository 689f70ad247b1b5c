/** resolveStepByStep: a path resolved as the kernel does, each component shown before it is used. */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readlinkSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { resolveStepByStep, TooManyLinksError } from '../src/resolve-path.js';
import { tempDir } from './helpers/tmp.js';

/** Follows every link, recording each component it is shown. */
function follow(path: string, seen: string[] = []): string {
  return resolveStepByStep(path, (here) => {
    seen.push(here);
    return lstatSync(here).isSymbolicLink() ? readlinkSync(here) : null;
  });
}

test('resolveStepByStep: the real path, every component shown once, `..` taken after the link it follows', async (t) => {
  const work = await tempDir('sersync-resolve-');
  t.after(() => work.remove());
  const base = realpathSync(work.path);
  mkdirSync(join(base, 'a', 'b'), { recursive: true });
  mkdirSync(join(base, 'c'));
  symlinkSync('a/b', join(base, 'rel')); // relative target
  symlinkSync(join(base, 'c'), join(base, 'abs')); // absolute target
  const seen: string[] = [];
  assert.equal(follow(`${base}/rel/../b`, seen), join(base, 'a', 'b')); // join() would drop the `..`
  assert.ok(seen.includes(join(base, 'rel')) && seen.includes(join(base, 'a')), seen.join(' '));
  assert.equal(
    follow(join(base, 'abs', '.', '..', 'a')),
    join(base, 'a'),
    '`..` of the link target, not of the link',
  );
  assert.equal(follow(join(base, 'rel')), realpathSync(join(base, 'rel')));
  const cwd = process.cwd();
  process.chdir(base);
  try {
    assert.equal(follow('rel'), join(base, 'a', 'b'), 'relative to the working directory');
  } finally {
    process.chdir(cwd);
  }
});

test('resolveStepByStep: a loop of links is ELOOP, naming the link past the limit', async (t) => {
  const work = await tempDir('sersync-resolve-loop-');
  t.after(() => work.remove());
  const base = realpathSync(work.path);
  symlinkSync('y', join(base, 'x'));
  symlinkSync('x', join(base, 'y'));
  assert.throws(
    () => follow(join(base, 'x')),
    (err: unknown) => err instanceof TooManyLinksError && err.at.startsWith(base),
  );
});
