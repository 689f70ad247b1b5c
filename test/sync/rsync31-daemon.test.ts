/**
 * An rsync 3.1 daemon (CentOS 7's 3.1.2, RHEL 8, Ubuntu 20.04: many backup servers) that refuses a
 * run once it has begun (`refuse options = delete`, a read-only module, and for 3.1.2 the
 * nanosecond `--modify-window=-1` of full syncs, an option it does not know) closes the connection
 * with its reason unread: the client says only `read error: Connection reset by peer (104)`, exit
 * 10, and its port still answers. Such a daemon cannot run here (only the installed rsync can), so
 * the pool answers the runs it refuses with that answer, captured verbatim from rsync 3.1.3 and
 * 3.1.2 daemons and a 3.5.0 client; every other run goes to a real daemon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWorkStore } from '../../src/queue/store.js';
import type { QueueStore } from '../../src/queue/types.js';
import { CLOSED_ON_REMOVALS } from '../../src/sync/exit-codes.js';
import { mayRefuseNanoWindow, NANO_WINDOW, secondsWindow } from '../../src/sync/time-window.js';
import { RsyncPool } from '../../src/sync/pool.js';
import type { Replicator } from '../../src/sync/replicator.js';
import { notRun, type RsyncResult, type RsyncTask } from '../../src/sync/task.js';
import type { Remote } from '../../src/config/types.js';
import { filterSpecOf } from '../../src/filter/path-filter.js';
import { planRuns } from '../../src/sync/plan.js';
import { testConfig } from '../helpers/config.js';
import { type QueueRig, testReplicator, withQueueRig } from '../helpers/lane.js';
import { capturedLog } from '../helpers/log-lines.js';
import { eventually } from '../helpers/trees.js';

const RESET =
  'rsync: [sender] read error: Connection reset by peer (104)\n' +
  'rsync error: error in socket IO (code 10) at io.c(907) [sender=3.5.0]\n';

/** A pool whose remote is an rsync 3.1 daemon refusing the runs `refuses` picks. */
class Rsync31Pool extends RsyncPool {
  dispatched = 0;
  refused = 0;

  constructor(
    public refuses: (task: RsyncTask) => boolean,
    private readonly answer: RsyncResult = { ...notRun(10, RESET, 5), ran: true },
  ) {
    super(2);
  }

  protected override dispatch(...args: Parameters<RsyncPool['run']>): Promise<RsyncResult> {
    this.dispatched++;
    if (!this.refuses(args[0])) return super.dispatch(...args);
    this.refused++;
    return Promise.resolve(this.answer);
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
  opts: {
    readonly fullSync: boolean;
    readonly before?: (src: string) => void;
    readonly answer?: RsyncResult;
  },
  body: (rig: QueueRig, run: Rsync31Run) => Promise<void>,
): Promise<void> {
  await withQueueRig(2, async (rig) => {
    opts.before?.(rig.src);
    const store = openWorkStore(join(rig.state, 'queue.db'));
    const { log, said } = capturedLog();
    const pool = new Rsync31Pool(refuses, opts.answer);
    const replicator = testReplicator({
      config: rig.config,
      store,
      pool,
      log,
      probeMs: 20,
      retryPollMs: 20,
    });
    try {
      await replicator.start({ fullSync: opts.fullSync });
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
    { fullSync: false },
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

test('an rsync 3.1 daemon that refuses every run while its port answers: after one release by the probe its work waits for the retry interval, not each probe, and the status says it refuses until a run gets through', async () => {
  await withRsync31(
    () => true,
    { fullSync: false },
    async ({ src }, { replicator, pool, store, said }) => {
      writeFileSync(join(src, 'refused.txt'), 'a read-only module');
      await eventually(
        () => said('the remote answers, but failed again as soon as its backlog was sent') === 1,
        10_000,
        'lost, released by the probe, lost again',
      );
      assert.equal(said('remote answers again: sending its backlog'), 1);
      const [row] = store.list();
      assert.ok((row?.nextAttemptAt ?? 0) > Date.now() + 1000, 'the row waits for its back-off');
      const contact = (): string | undefined => replicator.status()[0]?.lanes[0]?.contact;
      assert.equal(contact(), 'runs-lost', 'the status says the remote loses its runs');
      // Nothing announces a run that does not happen: let ten probe intervals pass.
      const dispatched = pool.dispatched;
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(pool.dispatched, dispatched, 'no run at each probe');
      // the daemon takes runs again: the next batch gets through, and the status says so
      pool.refuses = () => false;
      writeFileSync(join(src, 'taken.txt'), 'once the daemon takes runs');
      await eventually(() => contact() === 'answering', 10_000, 'the remote answering');
    },
  );
});

test("an rsync 3.1.2 daemon, which refuses a full sync's nanosecond --modify-window: the full sync goes again without it and arrives, said once, and the status shows it until a full sync takes the window", async () => {
  await withRsync31(
    (task) => task.args.includes(NANO_WINDOW),
    {
      fullSync: true,
      before: (src) => writeFileSync(join(src, 'before.txt'), 'for the full sync of the start'),
    },
    async ({ daemon }, { replicator, pool, store, said }) => {
      await eventually(() => existsSync(join(daemon.dir, 'before.txt')), 10_000, "the start's full sync");
      await replicator.idle();
      assert.deepEqual(store.list(), [], 'nothing waits');
      const fullAt = (): number => replicator.status()[0]?.lanes[0]?.lastFullSyncAt ?? 0;
      const first = fullAt();
      assert.ok(first > 0, 'the full sync counts as done');
      assert.equal(said('refused a run with a nanosecond --modify-window and took it without'), 1);
      const windowOf = (): string | undefined => replicator.status()[0]?.lanes[0]?.fullSyncWindow?.window;
      assert.equal(windowOf(), 'second', 'the status says times are compared to the second');
      replicator.resync();
      await replicator.idle();
      assert.ok(fullAt() > first, 'the second full sync done');
      assert.equal(pool.refused, 2, 'each full sync tried the window once');
      assert.equal(said('refused a run with a nanosecond --modify-window'), 1, 'said once');
      // the daemon upgraded: the next full sync takes the window, and the status says so
      pool.refuses = () => false;
      replicator.resync();
      await replicator.idle();
      assert.equal(pool.refused, 2);
      assert.equal(windowOf(), 'nanosecond');
    },
  );
});

test('the nanosecond window: dropped from a run that has it, and suspected only in a refusal of a run that has it', () => {
  const remote: Remote = { id: 'h::m', target: { kind: 'daemon', host: 'h', module: 'm' } };
  const fullOf = (commonParams: string[]): RsyncTask => {
    const config = testConfig([{ watch: '/W', remotes: [remote] }]);
    const rsync = { ...config.rsync, commonParams };
    const [task] = planRuns([{ kind: 'full', path: '' }], {
      config: { ...config, rsync },
      root: '/W',
      remote,
      filter: filterSpecOf(config, '/W'),
    });
    assert.ok(task !== undefined);
    return task;
  };
  const full = fullOf(['-artz']);
  assert.ok(full.args.includes(NANO_WINDOW));
  assert.deepEqual(
    secondsWindow(full).args,
    full.args.filter((a) => a !== NANO_WINDOW),
  );
  const own = fullOf(['-artz', '--modify-window=1']);
  assert.equal(secondsWindow(own), own, 'a window of the operator is kept');
  const reset = { exitCode: 10, message: 'rsync: [sender] read error: Connection reset by peer (104)' };
  assert.equal(mayRefuseNanoWindow(full, reset), true);
  assert.equal(
    mayRefuseNanoWindow(full, { exitCode: 1, message: 'rsync: on remote machine: -@-1: unknown option' }),
    true,
  );
  assert.equal(mayRefuseNanoWindow(own, reset), false);
  // through a proxy the close comes in order: the client reads an end of file, not a reset
  const closed = {
    exitCode: 12,
    message: 'rsync: connection unexpectedly closed (0 bytes received so far) [sender]',
  };
  assert.equal(mayRefuseNanoWindow(full, closed), true);
  assert.equal(
    mayRefuseNanoWindow(full, {
      exitCode: 10,
      message: 'rsync: [sender] failed to connect to h (10.0.0.1): Connection refused (111)',
    }),
    false,
  );
});

test('a daemon that takes connections but answers no run (it never greets): left to the retry interval after one release, and once a batch gets through its backlog goes at once, not at its back-off', async () => {
  const silent =
    'rsync error: timeout waiting for daemon connection (code 35) at socket.c(278) [sender=3.5.0]\n';
  await withRsync31(
    () => true,
    { fullSync: false, answer: { ...notRun(35, silent, 5), ran: true } },
    async ({ daemon, src }, { pool, store, said }) => {
      writeFileSync(join(src, 'waited.txt'), 'while the daemon answers no run');
      await eventually(
        () => said('the remote answers, but failed again as soon as its backlog was sent') === 1,
        10_000,
        'lost, released by the probe, lost again',
      );
      const [row] = store.list();
      const due = row?.nextAttemptAt ?? 0;
      assert.ok(due > Date.now() + 1000, 'the row waits for its back-off');
      pool.refuses = () => false;
      writeFileSync(join(src, 'later.txt'), 'once the daemon answers');
      await eventually(
        () => existsSync(join(daemon.dir, 'later.txt')) && existsSync(join(daemon.dir, 'waited.txt')),
        Math.max(0, due - Date.now() - 500),
        'the waiting row sent after the batch that got through, before its back-off ended',
      );
    },
  );
});
