/**
 * The replication lag of work that failed counts from when its change was seen: the lane hands the
 * queue the time of its batch's oldest change, not the time the batch ran or failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Remote } from '../../src/config/types.js';
import { openWorkStore } from '../../src/queue/store.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { testConfig } from '../helpers/config.js';
import { testLane } from '../helpers/lane.js';
import { freePort } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';

test('a failed batch is queued with the time its change was seen, which the lag counts from', async () => {
  const src = await tempDir();
  const state = await tempDir();
  const pool = new RsyncPool(1);
  // Nothing listens on the port: every run fails at once (rsync exit 10).
  const remote: Remote = { id: '127.0.0.1::m', target: { kind: 'daemon', host: '127.0.0.1', module: 'm' } };
  const config = testConfig([{ watch: src.path, remotes: [remote] }]);
  const store = openWorkStore(join(state.path, 'q.sqlite'));
  // The batch runs only after a settle far longer than the run itself takes to fail.
  const lane = testLane({
    config: { ...config, rsync: { ...config.rsync, port: await freePort() } },
    root: src.path,
    remote,
    pool,
    store,
    settleMs: 400,
  });
  try {
    writeFileSync(join(src.path, 'a.txt'), 'a');
    lane.push({ kind: 'sync', path: 'a.txt' });
    const pushedAt = Date.now();
    await lane.idle();
    const [queued] = store.retriesByLane();
    assert.ok(queued !== undefined && queued.count === 1, 'the failed change waits in the queue');
    const failedAt = store.list()[0]?.firstFailureAt ?? 0;
    assert.ok(failedAt >= pushedAt + 400, `the batch failed after the settle (${failedAt - pushedAt} ms)`);
    const seenAt = queued.oldestSeenAt ?? Infinity;
    assert.ok(seenAt <= pushedAt, `seen ${seenAt - pushedAt} ms after the push`);
  } finally {
    await lane.stop();
    store.close();
    await pool.close();
    await src.remove();
    await state.remove();
  }
});
