/**
 * The retry queue's database under attack, through the real CLI: locked by another process at
 * start, damaged (garbage, an overwritten page). Locked while running is a soak case (it costs
 * SQLite's 5 s wait twice); test/sync/lane-store-errors.test.ts covers what it relies on.
 */
import { test } from 'node:test';
import { useLab } from '../helpers/lab.js';
import { queueDamaged, queueLockedAtStart, walLostAfterKill } from './cases/state-db.js';

const lab = useLab('sersync-faults-state-');

test('a queue locked by another process at start: a clear error, reading still works, it starts once free', async () => {
  await queueLockedAtStart(lab.work, lab.daemon);
});

test('a damaged queue: start and queue list refuse with the way out, the file is left alone, the way out works', async () => {
  await queueDamaged(lab.work, lab.daemon);
});

test('kill -9, then the -wal deleted, garbage or with a garbage header: the start is unclean, says so, resyncs', async () => {
  await walLostAfterKill(lab.work, lab.daemon);
});
