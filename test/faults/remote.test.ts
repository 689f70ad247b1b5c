/**
 * Faults of the remote side, with real processes on loopback: the rsync daemon crashes, stalls,
 * or refuses writes. Each case ends with the replica equal to the source, an empty queue, and
 * the replicator still running.
 */
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import { daemonDownDuringBurst } from './cases/daemon-down.js';

let daemon: RsyncDaemon;
let work: { path: string; remove: () => Promise<void> };
before(async () => {
  daemon = await startRsyncDaemon();
  work = await tempDir('sersync-faults-remote-');
});
after(async () => {
  await disposeRsyncDaemon(daemon);
  await work.remove();
});

test('the rsync daemon killed mid-burst, down 3 s, restarted: converges, and nothing travels twice once it is back', async () => {
  await daemonDownDuringBurst(work.path, daemon, { dirs: 10, filesPerDir: 100, downMs: 3000 });
});
