/**
 * Faults of the watch and of the replicator process itself, through the real CLI and a real
 * daemon: events dropped by the kernel, the watched root deleted and recreated, kill -9 at
 * random moments of a churn workload.
 */
import { test } from 'node:test';
import { useLab } from '../helpers/lab.js';
import { killedDuringChurn, rewriteWhileDown } from './cases/crash.js';
import { eventOverflow, rootDeletedAndRecreated } from './cases/watch.js';
import { seedFrom } from '../helpers/prng.js';

const lab = useLab('sersync-faults-watch-');

test('an inotify queue overflow (events really dropped) is logged once and resyncs the tree', async () => {
  await eventOverflow(lab.work, lab.daemon);
});

test('the watched root deleted, then recreated: the replica is never emptied, replication resumes', async () => {
  await rootDeletedAndRecreated(lab.work, lab.daemon, 1500);
});

test('kill -9 at 5 random moments of a churn workload, each followed by a restart: converges every time', async (t) => {
  const seed = seedFrom(process.env.FAULT_SEED);
  t.diagnostic(`FAULT_SEED=${seed}`);
  await killedDuringChurn(lab.work, lab.daemon, { kills: 5, ops: 150, seed });
});

test('a same-size rewrite in the same second while sersync2 was down is repaired by the -r full sync', async () => {
  await rewriteWhileDown(lab.work, lab.daemon);
});
