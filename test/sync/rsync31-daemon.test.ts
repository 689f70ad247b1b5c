/**
 * An rsync 3.1 daemon (CentOS 7, RHEL 8, Ubuntu 20.04: many backup servers) that refuses a run
 * once it has begun (`refuse options = delete`, a read-only module) closes the connection with its
 * reason unread: the client says only `read error: Connection reset by peer (104)`, exit 10, and
 * its port still answers. Such a daemon cannot run here (only the installed rsync can), so the pool
 * answers the runs it refuses with that answer, captured verbatim from an rsync 3.1.3 daemon and a
 * 3.5.0 client; every other run goes to a real daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import type { QueueStore } from '../../src/queue/types.js';
import { CLOSED_ON_REMOVALS } from '../../src/sync/exit-codes.js';
import { RsyncPool } from '../../src/sync/pool.js';
import { Replicator } from '../../src/sync/replicator.js';
import { notRun, type RsyncResult, type RsyncTask } from '../../src/sync/task.js';
import { createWatcher } from '../../src/watch/index.js';
import { withQueueRig, type QueueRig } from '../helpers/lane.js';
import { capturedLog } from '../helpers/log-lines.js';
import { eventually } from '../helpers/trees.js';

const RESET =
  'rsync: [sender] read error: Connection reset by peer (104)\n' +
  'rsync error: error in socket IO (code 10) at io.c(907) [sender=3.5.0]\n';

/** A pool whose remote is an rsync 3.1 daemon refusing the runs `refuses` picks. */
class Rsync31Pool extends RsyncPool {
  dispatched = 0;

  constructor(private readonly refuses: (task: RsyncTask) => boolean) {
    super(2);
  }

  protected override dispatch(...args: Parameters<RsyncPool['run']>): Promise<RsyncResult> {
    this.dispatched++;
    if (this.refuses(args[0])) return Promise.resolve({ ...notRun(10, RESET, 5), ran: true });
    return super.dispatch(...args);
  }
}

interface Rsync31Run {
  readonly replicator: Replicator;
  readonly pool: Rsync31Pool;
  readonly store: QueueStore;
  readonly said: (text: string) => number;
}

async function withRsync31(
  refuses: (task: RsyncTask) => boolean,
  body: (rig: QueueRig, run: Rsync31Run) => Promise<void>,
): Promise<void> {
  await withQueueRig(2, async (rig) => {
    const store = openWorkStore(join(rig.state, 'queue.db'));
    const { log, said } = capturedLog();
    const pool = new Rsync31Pool(refuses);
    const replicator = new Replicator({
      config: rig.config,
      store,
      pool,
      log,
      plugin: null,
      createWatcher: (opts) => createWatcher('inotify', opts),
      probeMs: 20,
      retryPollMs: 20,
    });
    try {
      await replicator.start({ fullSync: false });
      await body(rig, { replicator, pool, store, said });
    } finally {
      await replicator.stop();
      await pool.close();
      store.close();
    }
  });
}

test('an rsync 3.1 daemon that refuses --delete: the files changed beside a removal arrive; the removal waits, said to be refused, the remote not taken for lost', async () => {
  await withRsync31(
    (task) => task.kind === 'delete',
    async ({ daemon, src }, { replicator, store, said }) => {
      writeFileSync(join(src, 'old.txt'), 'removed while the daemon refuses removals');
      await eventually(() => existsSync(join(daemon.dir, 'old.txt')), 10_000, 'the first file');
      rmSync(join(src, 'old.txt'));
      const beside = Array.from({ length: 10 }, (_, i) => `new-${i}.txt`);
      for (const name of beside) writeFileSync(join(src, name), 'beside a refused removal');
      await eventually(
        () => beside.every((name) => existsSync(join(daemon.dir, name))),
        10_000,
        'the files created beside the refused removal',
      );
      await eventually(
        () => store.list().length === 1 && store.list()[0]?.lastError != null,
        10_000,
        'only the removal waits',
      );
      const [row] = store.list();
      assert.equal(row?.op.kind, 'delete');
      assert.equal(row.op.path, 'old.txt');
      assert.ok(row.lastError?.endsWith(CLOSED_ON_REMOVALS), row.lastError ?? '');
      assert.ok(existsSync(join(daemon.dir, 'old.txt')), 'refused: still on the replica');
      assert.equal(said('remote answers again: sending its backlog'), 0, 'not probed as a lost remote');
      assert.match(replicator.status()[0]?.lanes[0]?.lastError ?? '', /on the removals' run only/);
    },
  );
});

test('an rsync 3.1 daemon that refuses every run while its port answers: after one release by the probe its work waits for the retry interval, not each probe', async () => {
  await withRsync31(
    () => true,
    async ({ src }, { pool, store, said }) => {
      writeFileSync(join(src, 'refused.txt'), 'a read-only module');
      await eventually(
        () => said('the remote answers, but failed again as soon as its backlog was sent') === 1,
        10_000,
        'lost, released by the probe, lost again',
      );
      assert.equal(said('remote answers again: sending its backlog'), 1);
      const [row] = store.list();
      assert.ok((row?.nextAttemptAt ?? 0) > Date.now() + 1000, 'the row waits for its back-off');
      // Nothing announces a run that does not happen: let ten probe intervals pass.
      const dispatched = pool.dispatched;
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(pool.dispatched, dispatched, 'no run at each probe');
    },
  );
});
