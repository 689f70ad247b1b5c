/**
 * Faults of the remote side, with real processes on loopback: the rsync daemon crashes, stalls,
 * or refuses writes. Each case ends with the replica equal to the source, an empty queue, and
 * the replicator still running.
 */
import { after, before, test } from 'node:test';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../helpers/rsyncd.js';
import { tempDir } from '../helpers/tmp.js';
import { daemonDownDuringBurst } from './cases/daemon-down.js';
import { refusingReplica } from './cases/refusing-replica.js';
import { stalledRemote } from './cases/stall.js';

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

test('the rsync daemon killed mid-burst, down 2 s, restarted: converges', async () => {
  await daemonDownDuringBurst(work.path, daemon, {
    dirs: 10,
    filesPerDir: 50,
    downMs: 2000,
    exactlyOnce: false,
  });
});

test('a remote that accepts and then stalls: rsync --timeout ends each run, no rsync is left, it converges once traffic passes', async () => {
  await stalledRemote(work.path, daemon, { timeoutS: 1, stallMs: 2000 });
});

test('a stalled remote with <timeout> off (the shipped default): the stall backstop ends each run and it converges', async () => {
  await stalledRemote(work.path, daemon, { timeoutS: 1, stallMs: 2000, backstop: true });
});

test("a replica that refuses writes: rows carry rsync's message; made writable and retried, it converges", async () => {
  await refusingReplica(work.path, 50);
});
