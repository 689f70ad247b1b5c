import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon } from './helpers/rsyncd.js';
import { tempDir } from './helpers/tmp.js';

test('the test rsync daemon accepts an authenticated upload and logs it', async () => {
  const d = await startRsyncDaemon();
  const src = await tempDir();
  try {
    writeFileSync(join(src.path, 'hello.txt'), 'hi');
    const r = spawnSync(
      'rsync',
      [
        '-a',
        `--password-file=${d.passwordFile}`,
        `--port=${d.port}`,
        './hello.txt',
        `${d.user}@127.0.0.1::${d.module}`,
      ],
      { cwd: src.path, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(join(d.dir, 'hello.txt'), 'utf8'), 'hi');
    assert.deepEqual(await d.received(), ['hello.txt']);
  } finally {
    await src.remove();
    await disposeRsyncDaemon(d);
  }
});
