import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import runRsync from '../../workers/rsync.js';
import { tempDir } from '../helpers/tmp.js';

test('worker: a run from a watch root that is gone says so, not "spawn rsync ENOENT"', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const result = await runRsync({
    cwd: join(work.path, 'gone'),
    args: ['-r', '--delete', '--include-from=-', '--exclude=*', './', join(work.path, 'replica')],
    input: { kind: 'rules', rules: ['+ /f'] },
    filter: { excludes: [], ignoreDotFiles: false },
  });
  assert.equal(result.exitCode, -1);
  assert.equal(
    result.stderr,
    `cannot run rsync: the watched directory ${join(work.path, 'gone')} no longer exists`,
  );
});
