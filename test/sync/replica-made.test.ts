/**
 * A local replica that holds nothing of the tree because sersync2 had to make it (missing at the
 * start, or removed while running; see `readyReplica`) gets the whole tree, not only later changes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, treeDiff } from '../helpers/trees.js';

test('a local replica missing at the start (no -r, a clean last stop) is made and gets the whole tree', async () => {
  const dir = await tempDir('sersync-replica-made-');
  try {
    const src = join(dir.path, 'src');
    const replica = join(dir.path, 'replica');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'index.html'), 'home');
    writeFileSync(join(src, 'sub', 'page.html'), 'page');
    const config = writeConfig(
      dir.path,
      sersyncConfigXml({ watch: src, localTargets: [replica], failLog: join(dir.path, 'fail.sh') }),
    );
    const state = join(dir.path, 'state');
    // A first run that stops cleanly, so that the next start owes no resync of its own.
    const first = await startSersync(config, [], state);
    assert.equal(await first.stop(), 0);
    // The replica gone meanwhile (a new disk, a cleanup): the next start makes it, and fills it.
    const second = join(dir.path, 'second');
    writeFileSync(
      config,
      sersyncConfigXml({ watch: src, localTargets: [second], failLog: join(dir.path, 'fail.sh') }),
      'latin1',
    );
    const proc = await startSersync(config, [], state);
    try {
      await eventually(
        () => treeDiff(src, second) === '',
        15_000,
        'the tree on the replica made at the start',
      );
      assert.match(
        proc.stderr(),
        /"msg":"the local replica was missing and has been made: sending it the tree"/,
      );
      assert.doesNotMatch(proc.stderr(), /did not stop cleanly/, "the resync was the made replica's");
    } finally {
      assert.equal(await proc.stop(), 0);
    }
  } finally {
    await dir.remove();
  }
});
