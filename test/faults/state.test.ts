/**
 * The retry queue's database under attack, through the real CLI: locked by another process at
 * start, damaged (garbage, an overwritten page). Locked while running is a soak case (it costs
 * SQLite's 5 s wait twice); test/sync/lane-store-errors.test.ts covers what it relies on.
 */
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import { queueDamaged, queueLockedAtStart } from './cases/state-db.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  work = await tempDir('sersync-faults-state-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

test('a queue locked by another process at start: a clear error, reading still works, it starts once free', async () => {
  await queueLockedAtStart(work.path, daemon);
});

test('a damaged queue: start and queue list refuse with the way out, the file is left alone, the way out works', async () => {
  await queueDamaged(work.path, daemon);
});
