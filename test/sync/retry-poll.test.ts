/**
 * The replicator's look at the retry queue: rows of a remote the config no longer has (a reload
 * removed it) are left to `sersync2 queue`, and do not keep the look due again at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { silentLogger } from '../../src/log/logger.js';
import { openWorkStore } from '../../src/queue/store.js';
import type { LaneId, WorkStore } from '../../src/queue/types.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { testConfig } from '../helpers/config.js';
import { createMemoryWorkStore } from '../helpers/memory-store.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';
import { testReplicator } from '../helpers/lane.js';

test('rows of a remote no longer in the config are not polled in a loop, nor restored to a lane', async () => {
  const src = await tempDir();
  const dst = await tempDir();
  const store = createMemoryWorkStore();
  // Failed long ago for a remote the config no longer has: due now, and for ever.
  const batch = store.begin('gone::module', src.path, [{ kind: 'sync', path: 'old.txt' }]);
  store.fail(batch, { exitCode: 10, message: 'down' }, Date.now() - 3_600_000);
  let looks = 0;
  const counted = {
    ...store,
    nextDueAt: (lanes?: readonly LaneId[]) => {
      looks++;
      return store.nextDueAt(lanes);
    },
  };
  const pool = new RsyncPool(1);
  const replicator = testReplicator({
    config: testConfig([
      { watch: src.path, remotes: [{ id: 'local', target: { kind: 'local', path: dst.path } }] },
    ]),
    store: counted,
    pool,
    log: silentLogger,
    retryPollMs: 200,
  });
  try {
    await replicator.start({ fullSync: false });
    const before = looks;
    // A window of 5 polls: a look kept due by the orphaned row would come every 10 ms (~100 looks).
    await sleep(1000);
    assert.ok(looks - before <= 7, `${looks - before} looks at the queue in 1 s`);
    assert.deepEqual(
      store.due(Date.now(), 10).map((r) => r.remoteId),
      ['gone::module'],
      'left queued',
    );
    assert.deepEqual(
      replicator.status()[0]?.lanes.map((l) => l.pending),
      [0],
      'not restored to a lane',
    );
  } finally {
    await replicator.stop();
    await pool.close();
    await src.remove();
    await dst.remove();
  }
});

test('a wall clock step the queue cannot follow yet is tried again at each poll, said once, and followed once it can be', async (t) => {
  const src = await tempDir();
  const dst = await tempDir();
  const state = await tempDir();
  const real = openWorkStore(join(state.path, 'queue.db'));
  const shifts: number[] = [];
  let refusals = 2;
  // The queue's write refused twice (locked by another process, say), then done.
  const store: WorkStore = new Proxy(real, {
    get(target, key) {
      if (key === 'shiftTimes')
        return (delta: number) => {
          shifts.push(delta);
          if (refusals-- > 0) throw new Error('database is locked');
          target.shiftTimes(delta);
        };
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const lines: string[] = [];
  const pool = new RsyncPool(1);
  const replicator = testReplicator({
    config: testConfig([
      { watch: src.path, remotes: [{ id: 'local', target: { kind: 'local', path: dst.path } }] },
    ]),
    store,
    pool,
    log: pino({ level: 'info' }, { write: (l: string) => lines.push(l) }),
    retryPollMs: 20,
  });
  try {
    await replicator.start({ fullSync: false });
    const now = Date.now.bind(Date);
    t.mock.method(Date, 'now', () => now() - 1_800_000); // set back half an hour
    await eventually(() => shifts.length >= 3, 5000, 'three tries');
    await sleep(200); // ten polls more: none tries again
    assert.equal(shifts.length, 3, 'followed once, then not again');
    assert.ok(
      shifts.every((d) => Math.abs(d + 1_800_000) < 1000),
      `each try the same step: ${shifts.join(', ')}`,
    );
    const said = (text: string): number => lines.filter((l) => l.includes(text)).length;
    assert.equal(said('the queue cannot follow it yet'), 1, 'said once');
    assert.equal(said('the work waiting keeps its waits and its lag'), 1, 'followed once');
  } finally {
    await replicator.stop();
    await pool.close();
    real.close();
    await src.remove();
    await dst.remove();
    await state.remove();
  }
});
