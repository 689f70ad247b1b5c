import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRsyncVersion, rsyncWarning } from '../../src/sync/rsync-version.js';

const confined = { abi: 7 };
const noLandlock = { unavailable: 'this kernel has no Landlock' };

test('rsync version: read from --version, and what it means for the tree boundary', () => {
  const v = (line: string) => parseRsyncVersion(`${line}\nCopyright (C) 1996-2024 by Andrew Tridgell\n`);
  assert.deepEqual(v('rsync  version 3.5.0  protocol version 32'), { text: '3.5.0', major: 3, minor: 5 });
  assert.deepEqual(v('rsync  version v3.2.7  protocol version 31'), { text: '3.2.7', major: 3, minor: 2 });
  assert.deepEqual(v('rsync  version 3.1.3  protocol version 31'), { text: '3.1.3', major: 3, minor: 1 });
  assert.equal(v('openrsync: protocol version 29'), null);
  const v327 = v('rsync  version 3.2.7  protocol version 31');
  for (const confinement of [confined, noLandlock]) {
    assert.equal(rsyncWarning(v('rsync  version 3.5.0  protocol version 32'), null, confinement), null);
    assert.equal(rsyncWarning({ text: '4.0.0', major: 4, minor: 0 }, null, confinement), null);
    assert.match(
      rsyncWarning(null, 'spawn rsync ENOENT', confinement) ?? '',
      /^cannot run rsync \(spawn rsync ENOENT\): every sync will fail/,
    );
  }
  assert.equal(rsyncWarning(v327, null, confined), null, 'every run confined: the boundary holds');
  assert.match(
    rsyncWarning(v327, null, noLandlock) ?? '',
    /^rsync 3\.2\.7 follows a symlink planted .*, and its reads cannot be confined to the tree: this kernel has no Landlock; .* install rsync 3\.5 or later$/,
  );
});
