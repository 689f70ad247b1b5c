/**
 * Faults of the remote side, with real processes on loopback: the rsync daemon crashes, stalls,
 * or refuses writes. Each case ends with the replica equal to the source, an empty queue, and
 * the replicator still running.
 */
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { useLab } from '../helpers/lab.js';
import {
  clockSteppedBackWhileDown,
  daemonDownDuringBurst,
  dirRenamesWhileDown,
  failLogInTreeWhileDown,
  fakeTimeLibrary,
} from './cases/daemon-down.js';
import { missingPasswordFile } from './cases/password-file.js';
import {
  busyBetweenRuns,
  busyDaemon,
  receiverRefusesThroughLink,
  daemonExcludes,
  moduleNamedAsPath,
  refusedRemovals,
  refusingReplica,
  replicaDiskFull,
  replicaRefusesManyFiles,
  replicaRefusesSomeFiles,
} from './cases/refusing-replica.js';
import { replicaDiskNotMountedAtStart, replicaDiskUnmounted } from './cases/replica-disk.js';
import { descriptorsExhausted, rsyncMissing } from './cases/rsync-missing.js';
import { mountUnavailable } from './cases/watch-health.js';
import { stalledOverSsh, stalledRemote } from './cases/stall.js';
import { sshdUnavailable, startSshd } from '../helpers/sshd.js';

const lab = useLab('sersync-faults-remote-');

test('the rsync daemon killed mid-burst, down 2 s, restarted: converges', async () => {
  await daemonDownDuringBurst(lab.work, lab.daemon, {
    dirs: 10,
    filesPerDir: 50,
    downMs: 2000,
    exactlyOnce: false,
  });
});

test('directories renamed while the rsync daemon is down and while its backlog is sent: no stale directory is left', async () => {
  await dirRenamesWhileDown(lab.work, lab.daemon, { rounds: 3, ops: 150, downMs: 1500, seed: 1 });
});

test('the fail log inside the watched tree while the daemon is down: its rewrites are not changes, so failures do not feed on themselves; it converges without the fail log on the replica', async () => {
  await failLogInTreeWhileDown(lab.work, lab.daemon);
});

test(
  'the wall clock stepped back while a change waits for a daemon that is down: the lag keeps growing, it converges',
  { skip: fakeTimeLibrary() === undefined ? 'libfaketime is not installed (Debian: faketime)' : false },
  async () => {
    await clockSteppedBackWhileDown(lab.work, lab.daemon);
  },
);

test('a remote that accepts and then stalls: rsync --timeout ends each run, no rsync is left, it converges once traffic passes', async () => {
  await stalledRemote(lab.work, lab.daemon, { timeoutS: 1, stallMs: 2000 });
});

test('a stalled remote with <timeout> off (the shipped default): the stall backstop ends each run and it converges', async () => {
  await stalledRemote(lab.work, lab.daemon, { timeoutS: 1, stallMs: 2000, backstop: true });
});

test('a remote over ssh (real ssh and sshd) whose rsync stalls: the backstop stops each run, status and /metrics show it while it lasts, nothing of a run outlives it, it converges', async (t) => {
  const unavailable = sshdUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  const sshd = await startSshd();
  try {
    await stalledOverSsh(lab.work, sshd);
  } finally {
    await sshd.stop();
  }
});

test("a replica that refuses writes: rows carry rsync's message; made writable and retried, it converges", async () => {
  await refusingReplica(lab.work, 50);
});

test("a daemon whose module's max connections are taken: rows wait with its line, the log says retry (not final), and the queue sends them once a slot is free", async () => {
  await busyDaemon(lab.work);
});

test("a daemon with max connections = 1 whose process holds the slot after each transfer (post-xfer exec): the next change's run, refused as busy, goes again and arrives; nothing fails; status, its note and /metrics count it", async () => {
  await busyBetweenRuns(lab.work);
});

test('a daemon module written as a path (name="/replica"): the start warns, each change waits with rsync\'s line (final), status and /metrics show it; named right, its stale rows dropped, a start with -r converges', async () => {
  await moduleNamedAsPath(lab.work);
});

test("a daemon that refuses deletions: the files created beside a removal arrive, the removal waits with the daemon's line (status, /metrics), and goes once allowed; a full sync goes without --delete (status and /metrics say so) and counts as done", async () => {
  await refusedRemovals(lab.work);
});

test('a replica that cannot take some files of a batch: the others arrive and leave the queue, only the refused one waits with its line, status and /metrics count it; writable, it goes; a full sync it takes but for some paths (the module top directory included) counts as done and only those wait; a directory whose attributes it cannot set waits alone, the files in it arrive', async () => {
  await replicaRefusesSomeFiles(lab.work);
});

test('a replica that refuses more files of one run than the kept stderr can name: none of them leaves the queue as arrived; writable, they all go', async () => {
  await replicaRefusesManyFiles(lab.work);
});

test('a daemon whose module excludes names (rsyncd.conf exclude): the rest arrives, nothing waits or fails, the full sync counts as done; the log, status, /metrics and verify say what it refused', async () => {
  await daemonExcludes(lab.work);
});

test("a replica's disk with less room than one large file: the files after it arrive, it waits alone with its own line, status and /metrics show it; with room it goes", async (t) => {
  const unavailable = mountUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  await replicaDiskFull(lab.work);
});

test('a file the receiver refuses (a replica directory that is a link, under -K) waits in the queue; it is not taken for a vanished source', async () => {
  await receiverRefusesThroughLink(lab.work, lab.daemon);
});

test('a missing password file: check says it with the fix, queue list and status show the cause whole, it converges once written', async () => {
  await missingPasswordFile(lab.work, lab.daemon);
});

test('no rsync on PATH: runs fail with 127 (with the helper and without), the remote is not taken for lost, and it converges once rsync is back', async () => {
  await rsyncMissing(lab.work);
});

test('sersync2 out of file descriptors: runs fail with 127 and the true cause, status and /metrics show it (not a missing rsync nor a vanished root), and it converges once the limit is raised', async () => {
  await descriptorsExhausted(lab.work, lab.daemon);
});

test("a local replica's disk unmounted while running: nothing is written where it was, status and /metrics show each remote waiting for it, mounted again it converges", async (t) => {
  const unavailable = mountUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  await replicaDiskUnmounted(lab.work, lab.daemon);
});

test('a local replica on a disk /etc/fstab lists but not mounted at the start: nothing is written where it belongs, check, status and /metrics say so, mounted it gets the whole tree', async (t) => {
  const unavailable = mountUnavailable();
  if (unavailable !== undefined) return t.skip(unavailable);
  // The case binds its own fstab over this file, in a mount namespace of its own.
  if (!existsSync('/etc/fstab')) return t.skip("no /etc/fstab to bind the case's over");
  await replicaDiskNotMountedAtStart(lab.work, lab.daemon);
});
