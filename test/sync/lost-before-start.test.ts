/**
 * A remote that was unreachable when sersync2 stopped (or reloaded) is still taken for lost by the
 * start: `status` says so at once, not "answering" until its next row's back-off ends (up to
 * `timeToExecute`), and its backlog goes as soon as a probe finds it answering, as it did before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import { crashDaemon } from '../faults/lib/procs.js';
import { testReplicator, withQueueRig } from '../helpers/lane.js';
import { capturedLog } from '../helpers/log-lines.js';
import { eventually } from '../helpers/trees.js';

const REFUSED = 'rsync: [sender] failed to connect to 127.0.0.1 (127.0.0.1): Connection refused (111)';

test('a remote unreachable before the start: status says so from the start, and its backlog goes once a probe finds it answering, not at its back-off', async () => {
  await withQueueRig(2, async ({ daemon, pool, src, state, remote, config }) => {
    writeFileSync(join(src, 'waited.txt'), 'queued while the daemon was down');
    const store = openWorkStore(join(state, 'queue.db'));
    // As an earlier run left it: the file failed ten times while the daemon was down, so its next
    // attempt is most of an hour away.
    for (let n = 0; n < 10; n++) {
      const batch = store.begin(remote.id, src, [{ kind: 'sync', path: 'waited.txt' }]);
      store.fail(batch, { exitCode: 10, message: REFUSED });
    }
    const [row] = store.list();
    assert.ok((row?.nextAttemptAt ?? 0) > Date.now() + 10 * 60_000, 'the row waits for minutes');
    await crashDaemon(daemon);
    const { log, said } = capturedLog();
    const replicator = testReplicator({
      config,
      store,
      pool,
      log,
      probeMs: 20,
    });
    try {
      await replicator.start({ fullSync: false });
      const contact = (): string | undefined => replicator.status()[0]?.lanes[0]?.contact;
      assert.equal(contact(), 'unreachable', 'said from the start');
      assert.equal(said('the remote was lost when its work was last tried'), 1);
      await daemon.restart();
      await eventually(
        () => existsSync(join(daemon.dir, 'waited.txt')) && store.list().length === 0,
        10_000,
        'the backlog sent once the daemon answers',
      );
      await eventually(() => contact() === 'answering', 10_000, 'status: answering');
    } finally {
      await replicator.stop();
      store.close();
    }
  });
});
