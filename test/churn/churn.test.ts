import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon } from '../helpers/rsyncd.js';
import { sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, treeDiff } from '../helpers/trees.js';
import { churn } from './churn.js';

test('churn: 1,200 random operations on a live tree, then the replica equals the source', async () => {
  const seed = Number(process.env.CHURN_SEED ?? Date.now() % 1_000_000);
  const daemon = await startRsyncDaemon();
  const work = await tempDir('sersync-churn-');
  const src = join(work.path, 'W');
  mkdirSync(src);
  const file = writeConfig(
    work.path,
    sersyncConfigXml({ watch: src, daemons: [daemon], failLog: join(work.path, 'fail.sh') }),
  );
  const proc = await startSersync(file, [], join(work.path, 'state'));
  try {
    const stats = churn(src, 1200, seed);
    try {
      await eventually(() => treeDiff(src, daemon.dir) === '', 60_000, 'convergence');
    } catch (err) {
      const warnings = proc
        .stderr()
        .split('\n')
        .filter((l) => /"level":(40|50)/.test(l));
      throw new Error(
        `no convergence with CHURN_SEED=${seed} (${JSON.stringify(stats.byKind)}):\n` +
          `${treeDiff(src, daemon.dir)}\n${warnings.slice(0, 5).join('\n')}`,
        { cause: err },
      );
    }
  } finally {
    assert.equal(await proc.stop(), 0);
    await disposeRsyncDaemon(daemon);
    await work.remove();
  }
});
