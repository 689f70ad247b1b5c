/**
 * No rsync on PATH (not installed yet, or gone in an upgrade): each run fails with 127, "cannot run
 * rsync", on both roads: the helper's exec, and the spawn of an install whose helper was not built.
 * That is not the remote's fault: it is not taken for a lost remote (probed every 2 s, its backlog
 * sent each time the daemon answers, and the tree resynced once rsync runs again); the rows back off,
 * and once rsync is back the replica converges.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueRow } from '../../../src/queue/types.js';
import { disposeRsyncDaemon, startRsyncDaemon } from '../../helpers/rsyncd.js';
import { installWithoutConfineHelper } from '../../helpers/sersync.js';
import { eventually } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

export async function rsyncMissing(work: string): Promise<CaseResult> {
  const real = spawnSync('sh', ['-c', 'command -v rsync'], { encoding: 'utf8' }).stdout.trim();
  const bin = mkdtempSync(join(work, 'no-rsync-'));
  const env = { PATH: bin };
  const daemons = [await startRsyncDaemon(), await startRsyncDaemon()] as const;
  const confined = Rig.create(work, { daemon: daemons[0] });
  const bare = Rig.create(work, { daemon: daemons[1] });
  const cli = installWithoutConfineHelper(mkdtempSync(join(work, 'no-helper-')));
  try {
    await Promise.all([confined.start([], { env }), bare.start([], { env, cli })]);
    for (const rig of [confined, bare]) writeFileSync(join(rig.src, 'a.txt'), 'a');
    for (const [rig, road] of [
      [confined, 'through the helper'],
      [bare, 'without the helper'],
    ] as const) {
      let rows: QueueRow[] = [];
      await eventually(
        () => (rows = rig.queued()).some((r) => r.exitCode !== null),
        15_000,
        `a failed run ${road}`,
      );
      for (const row of rows.filter((r) => r.exitCode !== null)) {
        assert.equal(row.exitCode, 127, `${road}: ${row.lastError ?? ''}`);
        assert.match(row.lastError ?? '', /cannot run rsync/);
      }
    }
    symlinkSync(real, join(bin, 'rsync'));
    await Promise.all([
      confined.converged(20_000, 'rsync back, through the helper'),
      bare.converged(20_000, 'rsync back, without the helper'),
    ]);
    for (const rig of [confined, bare]) {
      assert.deepEqual(
        rig.logLines('remote answers again: sending its backlog'),
        [],
        'taken for a lost remote',
      );
      assert.deepEqual(rig.logLines(/the remote answers again after a loss/), []);
    }
    return { faults: 2, files: confined.files() + bare.files(), lost: 0 };
  } finally {
    await Promise.all([confined.stop(), bare.stop()]);
    await Promise.all(daemons.map((d) => disposeRsyncDaemon(d)));
  }
}
