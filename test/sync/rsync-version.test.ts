import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRsyncVersion, rsyncWarning } from '../../src/sync/rsync-version.js';

test('rsync version: read from --version, and what it means for the tree boundary', () => {
  const v = (line: string) => parseRsyncVersion(`${line}\nCopyright (C) 1996-2024 by Andrew Tridgell\n`);
  assert.deepEqual(v('rsync  version 3.5.0  protocol version 32'), { text: '3.5.0', major: 3, minor: 5 });
  assert.deepEqual(v('rsync  version v3.2.7  protocol version 31'), { text: '3.2.7', major: 3, minor: 2 });
  assert.deepEqual(v('rsync  version 3.1.3  protocol version 31'), { text: '3.1.3', major: 3, minor: 1 });
  assert.equal(v('openrsync: protocol version 29'), null);
  assert.equal(rsyncWarning(v('rsync  version 3.5.0  protocol version 32'), null), null);
  assert.equal(rsyncWarning({ text: '4.0.0', major: 4, minor: 0 }, null), null);
  assert.match(
    rsyncWarning(v('rsync  version 3.2.7  protocol version 31'), null) ?? '',
    /^rsync 3\.2\.7 follows a symlink planted .* install rsync 3\.5 or later$/,
  );
  assert.match(
    rsyncWarning(null, 'spawn rsync ENOENT') ?? '',
    /^cannot run rsync \(spawn rsync ENOENT\): every sync will fail/,
  );
});
