/**
 * Faults of the watch and of the replicator process itself, through the real CLI and a real
 * daemon: events dropped by the kernel, the watched root deleted and recreated, kill -9 at
 * random moments of a churn workload.
 */
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import { killedDuringChurn, rewriteWhileDown } from './cases/crash.js';
import { eventOverflow, rootDeletedAndRecreated } from './cases/watch.js';
import { seedFrom } from '../helpers/prng.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  work = await tempDir('sersync-faults-watch-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

test('an inotify queue overflow (events really dropped) is logged once and resyncs the tree', async () => {
  await eventOverflow(work.path, daemon);
});

test('the watched root deleted, then recreated: the replica is never emptied, replication resumes', async () => {
  await rootDeletedAndRecreated(work.path, daemon, 1500);
});

test('kill -9 at 5 random moments of a churn workload, each followed by a restart: converges every time', async (t) => {
  const seed = seedFrom(process.env.FAULT_SEED);
  t.diagnostic(`FAULT_SEED=${seed}`);
  await killedDuringChurn(work.path, daemon, { kills: 5, ops: 150, seed });
});

test('a same-size rewrite in the same second while sersync2 was down is repaired by the -r full sync', async () => {
  await rewriteWhileDown(work.path, daemon);
});
