/** A local replica (`<remote path>`) removed while sersync2 runs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';

/**
 * rsync makes its destination directory when it is missing; a confined rsync may not (it writes only
 * below the replica), so the run makes it again first, as sersync's rsync did, and the next change
 * arrives instead of failing for ever.
 */
test('a local replica removed while running is made again by the next run, and the change arrives', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const src = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  for (const d of [src, replica]) mkdirSync(d);
  const config = writeConfig(
    work.path,
    `<head version="2.5"><sersync><localpath watch="${src}"><remote path="${replica}"/></localpath></sersync></head>`,
  );
  const proc = await startSersync(config, [], join(work.path, 'state'));
  try {
    writeFileSync(join(src, 'before.txt'), 'before');
    await eventually(() => existsSync(join(replica, 'before.txt')), 15_000, 'the first change');
    rmSync(replica, { recursive: true });
    writeFileSync(join(src, 'after.txt'), 'after');
    await eventually(() => existsSync(join(replica, 'after.txt')), 15_000, 'the change after the removal');
    assert.equal(readFileSync(join(replica, 'after.txt'), 'utf8'), 'after');
  } finally {
    assert.equal(await proc.stop(), 0, proc.stderr());
  }
});
