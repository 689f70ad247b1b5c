/**
 * `-r` with an empty tree and an empty local replica (the README's first command on the shipped
 * config): the full sync has nothing to send and nothing to protect. It is done, and `status` says
 * so, where it said `last never` after the operator had asked for one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { CLI, localReplicaSetup, startSersync } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';

test('-r on an empty tree to an empty local replica: the full sync is done, and no failure', async () => {
  const tmp = await tempDir('sersync-nothing-to-do-');
  const { state, config } = localReplicaSetup(tmp.path);
  const proc = await startSersync(config, ['-r'], state);
  try {
    const status = (): DaemonStatus => {
      const r = spawnSync(process.execPath, [CLI, 'status', '--json', '-o', config, '--state-dir', state], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as DaemonStatus;
    };
    await eventually(() => status().fullSync.lastAt !== null, 15_000, 'the full sync counted as done');
    const [remote] = status().remotes;
    assert.equal(remote?.lastError, null);
    assert.equal(remote.rsyncRuns, 0, 'nothing to run');
  } finally {
    await proc.stop();
    await tmp.remove();
  }
});
