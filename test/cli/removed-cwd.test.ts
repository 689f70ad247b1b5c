/** sersync2 started from a working directory that was removed (a shell left in a deleted release). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';

test('started from a removed working directory, it works from / and replicates, instead of dying at the first change', async (t) => {
  const work = await tempDir();
  t.after(work.remove);
  const src = join(work.path, 'src');
  const replica = join(work.path, 'replica');
  const gone = join(work.path, 'gone');
  for (const d of [src, replica, gone]) mkdirSync(d);
  const config = writeConfig(
    work.path,
    `<head version="2.5"><sersync><localpath watch="${src}"><remote path="${replica}"/></localpath></sersync></head>`,
  );
  // The shell enters the directory, removes it, then becomes sersync2 there.
  const proc = await startSersync(config, [], join(work.path, 'state'), {
    wrapper: ['sh', '-c', `cd '${gone}' && rmdir '${gone}' && exec "$@"`, 'sh'],
  });
  try {
    assert.match(proc.stderr(), /the working directory no longer exists; working from \//);
    writeFileSync(join(src, 'f.txt'), 'replicated');
    await eventually(() => existsSync(join(replica, 'f.txt')), 15_000, 'the first change');
    assert.equal(readFileSync(join(replica, 'f.txt'), 'utf8'), 'replicated');
  } finally {
    assert.equal(await proc.stop(), 0, proc.stderr());
  }
});
