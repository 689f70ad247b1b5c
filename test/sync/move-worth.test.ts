import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromBytes } from '../../src/paths.js';
import { MOVE_MIN_BYTES, worthRebuilding } from '../../src/sync/move-worth.js';
import { tempDir } from '../helpers/tmp.js';

test('worthRebuilding: a few small files are not worth a run of their own; enough bytes or entries are', async () => {
  const tmp = await tempDir();
  try {
    const small = join(tmp.path, 'small');
    mkdirSync(join(small, 'sub'), { recursive: true });
    writeFileSync(join(small, 'a'), 'x'.repeat(1024));
    writeFileSync(join(small, 'sub', 'b'), 'x'.repeat(1024));
    assert.equal(worthRebuilding(tmp.path, 'small'), false);

    const big = join(tmp.path, 'big');
    mkdirSync(join(big, 'deep', 'er'), { recursive: true });
    writeFileSync(join(big, 'deep', 'er', 'f'), Buffer.alloc(MOVE_MIN_BYTES));
    assert.equal(worthRebuilding(tmp.path, 'big'), true, 'bytes below a subdirectory count');

    const many = join(tmp.path, 'many');
    mkdirSync(many);
    for (let i = 0; i < 300; i++) writeFileSync(join(many, `f${i}`), '');
    assert.equal(worthRebuilding(tmp.path, 'many'), true, 'many empty files');

    const linked = join(tmp.path, 'linked');
    mkdirSync(linked);
    symlinkSync(big, join(linked, 'to-big'));
    assert.equal(worthRebuilding(tmp.path, 'linked'), false, 'a link is not followed');

    const latin1 = Buffer.concat([Buffer.from(join(tmp.path, 'caf')), Buffer.from([0xe9])]);
    mkdirSync(latin1);
    writeFileSync(Buffer.concat([latin1, Buffer.from('/f')]), Buffer.alloc(MOVE_MIN_BYTES));
    assert.equal(
      worthRebuilding(tmp.path, fromBytes(Buffer.from([0x63, 0x61, 0x66, 0xe9]))),
      true,
      'a name that is not UTF-8 is read as its bytes',
    );

    assert.equal(worthRebuilding(tmp.path, 'gone'), true, 'an unreadable one is left to the run');
  } finally {
    await tmp.remove();
  }
});
