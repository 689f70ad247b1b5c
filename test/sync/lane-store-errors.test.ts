/**
 * A lane whose work store cannot be written for a while (its database locked by another process
 * past SQLite's wait): the batch was never recorded, so its work must stay in memory and go out
 * once the store works again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Remote } from '../../src/config/types.js';
import { createMemoryWorkStore } from '../helpers/memory-store.js';
import type { WorkStore } from '../../src/queue/types.js';
import type { Lane } from '../../src/sync/lane.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { testConfig } from '../helpers/config.js';
import { testLane } from '../helpers/lane.js';
import { capturedLog } from '../helpers/log-lines.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually } from '../helpers/trees.js';

/** A store whose first `failures` begin() calls throw, as a locked SQLite database does. */
function lockedAtFirst(failures: number): WorkStore & { attempts: number } {
  const store = createMemoryWorkStore();
  let attempts = 0;
  return {
    ...store,
    begin(remoteId, root, ops) {
      attempts++;
      if (attempts <= failures) throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
      return store.begin(remoteId, root, ops);
    },
    get attempts() {
      return attempts;
    },
  };
}

/** A lane from a fresh source to a local replica whose store fails its first `failures` begins. */
async function withLockedLane(
  failures: number,
  body: (ctx: {
    src: string;
    dst: string;
    lane: Lane;
    store: ReturnType<typeof lockedAtFirst>;
    said: (text: string) => number;
  }) => Promise<void>,
): Promise<void> {
  const src = await tempDir();
  const dst = await tempDir();
  const pool = new RsyncPool(2);
  const remote: Remote = { id: dst.path, target: { kind: 'local', path: dst.path } };
  const store = lockedAtFirst(failures);
  const { log, said } = capturedLog();
  const lane = testLane({
    log,
    config: testConfig([{ watch: src.path, remotes: [remote] }]),
    root: src.path,
    remote,
    pool,
    store,
    storeRetryMs: 40,
  });
  try {
    await body({ src: src.path, dst: dst.path, lane, store, said });
  } finally {
    await lane.stop();
    await pool.close();
    await src.remove();
    await dst.remove();
  }
}

test('a batch the store could not record is kept and sent once the store works again', async () => {
  await withLockedLane(2, async ({ src, dst, lane, store }) => {
    writeFileSync(join(src, 'kept.txt'), 'kept through the lock');
    const before = Date.now();
    lane.push({ kind: 'sync', path: 'kept.txt' });
    await eventually(() => lane.stats.queueFailingSince !== null, 5000, 'the first failure recorded');
    // said while it lasts (status, /metrics), from the first failure on
    assert.ok((lane.stats.queueFailingSince ?? 0) >= before);
    assert.equal(
      lane.stats.queueError,
      'database is locked (SQLITE_BUSY); changes wait in memory and are sent once it can be',
    );
    await lane.idle();
    assert.equal(store.attempts, 3);
    assert.deepEqual(
      [lane.stats.queueFailingSince, lane.stats.queueError],
      [null, null],
      'cleared once recorded',
    );
    assert.equal(readFileSync(join(dst, 'kept.txt'), 'utf8'), 'kept through the lock');
  });
});

test('a lane whose store keeps failing waits longer before each try, not in a tight loop, and says it once', async () => {
  await withLockedLane(3, async ({ src, dst, lane, store, said }) => {
    writeFileSync(join(src, 'f.txt'), 'f');
    const started = performance.now();
    lane.push({ kind: 'sync', path: 'f.txt' });
    await lane.idle();
    assert.equal(store.attempts, 4);
    // 40 + 80 + 160 ms of back-off between the four tries (without it: a few ms in all).
    assert.ok(performance.now() - started >= 280, `${performance.now() - started} ms`);
    assert.equal(readFileSync(join(dst, 'f.txt'), 'utf8'), 'f');
    // a long spell (a full disk for hours) is one line, not one per try, and its end another
    assert.equal(said('sync batch failed unexpectedly'), 1);
    assert.equal(said('the retry queue can be written again'), 1);
  });
});
