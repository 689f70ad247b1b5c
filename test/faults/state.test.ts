/**
 * The retry queue's database under attack, through the real CLI: locked by another process at
 * start or while running (status and /metrics show it while it lasts), damaged (garbage, an
 * overwritten page). test/sync/lane-store-errors.test.ts covers what the running case relies on.
 */
import { test } from 'node:test';
import { useLab } from '../helpers/lab.js';
import { failLogDiskFull, logDiskFull, outputOnFullDisk } from './cases/log-disk.js';
import { mountUnavailable } from './cases/watch-health.js';
import {
  queueDamaged,
  queueLockedAtStart,
  queueLockedWhileRunning,
  queueRemovedWhileRunning,
  stateDirRemovedWhileRunning,
  walLostAfterKill,
} from './cases/state-db.js';

const lab = useLab('sersync-faults-state-');

test('a queue locked by another process at start: a clear error, reading still works, it starts once free', async () => {
  await queueLockedAtStart(lab.work, lab.daemon);
});

test('a queue locked while running: status and /metrics say so while it lasts; the changes wait and arrive', async () => {
  await queueLockedWhileRunning(lab.work, lab.daemon, 1000);
});

test('a damaged queue: start and queue list refuse with the way out, the file is left alone, the way out works', async () => {
  await queueDamaged(lab.work, lab.daemon);
});

test('kill -9, then the -wal deleted, garbage or with a garbage header: the start is unclean, says so, resyncs', async () => {
  await walLostAfterKill(lab.work, lab.daemon);
});

test('the queue removed while running: status and /metrics say so; the next start resyncs, nothing is lost', async () => {
  await queueRemovedWhileRunning(lab.work, lab.daemon);
});

test('the whole state directory removed while running: status finds it all the same, the socket and pid file come back, nothing is lost', async () => {
  await stateDirRemovedWhileRunning(lab.work, lab.daemon);
});

test("sersync's fail log on a full disk while a remote is down: the queue goes on, status and /metrics say the fail log is not written while it lasts, and clear once it is", async (t) => {
  const unavailable = mountUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  await failLogDiskFull(lab.work, lab.daemon);
});

test("the log file's disk full: replication goes on, status and /metrics say so while it lasts, the log catches up, and a stop still ends", async (t) => {
  const unavailable = mountUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  await logDiskFull(lab.work, lab.daemon);
});

test('stdout and stderr on a full disk (an init script redirecting them to a log that fills): it replicates, status says the log cannot be written, SIGTERM ends it cleanly', async () => {
  await outputOnFullDisk(lab.work, lab.daemon);
});
