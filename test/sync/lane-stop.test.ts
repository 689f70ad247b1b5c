/**
 * A lane that stops with work not yet sent (changes waiting for their batch, files held for a
 * temporary-looking name or for their writer's close) queues it in the retry queue, due at once:
 * the next start sends exactly that, instead of losing it or resyncing the whole tree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import { displayPath } from '../../src/paths.js';
import { testLane, withQueueRig } from '../helpers/lane.js';
import { treeDiff } from '../helpers/trees.js';

test('lane: a stop queues what it has not sent (pending, held for a name, awaiting a close), due at once; the next lane sends it', async () => {
  await withQueueRig(2, async ({ daemon, pool, src, state, remote, config }) => {
    const file = join(state, 'queue.db');
    let store = openWorkStore(file);
    writeFileSync(join(daemon.dir, 'gone'), 'removed from the tree');
    // Nothing is dispatched before the stop: everything below is still waiting when it comes.
    const first = testLane({ config, root: src, remote, pool, store, settleMs: 60_000 });
    const upload = openSync(join(src, 'upload'), 'w');
    try {
      writeFileSync(join(src, 'page.html'), 'closed');
      first.push({ kind: 'sync', path: 'page.html' });
      first.push({ kind: 'delete', path: 'gone', isDir: false });
      writeFileSync(join(src, '.env.sample'), 'KEY=value');
      first.push({ kind: 'sync', path: '.env.sample' });
      writeFileSync(join(src, 'app.db'), 'written in place, kept open');
      first.push({ kind: 'written', path: 'app.db' });
      first.push({ kind: 'new', path: 'upload' });
      writeSync(upload, 'an upload still being written');
      assert.deepEqual(
        [first.pending, first.stats.delayedByName, first.stats.awaitingClose],
        [5, 1, 1],
        'pending: the two changes, the upload (not looked at yet), the name held, the file awaiting its close',
      );
      assert.equal(await first.stop(), true, 'queued');
      const now = Date.now();
      const rows = store.list();
      assert.deepEqual(rows.map((r) => `${r.op.kind} ${displayPath(r.op.path)}`).sort(), [
        'delete gone',
        'sync .env.sample',
        'sync app.db',
        'sync page.html',
        'sync upload',
      ]);
      for (const r of rows) {
        assert.equal(r.state, 'retry', `${displayPath(r.op.path)}: not shown as being sent`);
        assert.ok(r.nextAttemptAt !== null && r.nextAttemptAt <= now, 'due at once');
        assert.equal(r.attempts, 0, 'no failure counted');
      }
      assert.notEqual(treeDiff(src, daemon.dir), '', 'nothing was sent before the stop');

      // The next start: the queue reopened, its due rows given to a new lane, as the replicator does.
      store.close();
      store = openWorkStore(file);
      const next = testLane({ config, root: src, remote, pool, store });
      try {
        for (const row of store.due(Date.now(), 100)) next.restore(row.op, row.owesRemoval);
        await next.idle();
        assert.equal(treeDiff(src, daemon.dir), '', 'the replica has all of it');
        assert.deepEqual(store.list(), [], 'and the queue is empty');
      } finally {
        await next.stop();
      }
    } finally {
      await first.stop();
      closeSync(upload);
      store.close();
    }
  });
});

test('lane: a stop whose work cannot be queued says so (the next start must resync)', async () => {
  await withQueueRig(1, async ({ pool, src, state, remote, config }) => {
    const store = openWorkStore(join(state, 'queue.db'));
    const lane = testLane({ config, root: src, remote, pool, store, settleMs: 60_000 });
    writeFileSync(join(src, 'f'), 'x');
    lane.push({ kind: 'sync', path: 'f' });
    store.close(); // as a queue that can no longer be written
    assert.equal(await lane.stop(), false);
    assert.equal(await lane.stop(), true, 'a second stop has nothing left to queue');
  });
});
