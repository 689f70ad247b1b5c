/**
 * Faults of the watch: the kernel drops events, the watched directory disappears. Through the
 * real CLI; the events are really lost (the process is stopped while the kernel's queue fills).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RsyncDaemon } from '../../helpers/rsyncd.js';
import { eventually } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

const OVERFLOW = /inotify queue overflow/;

/** The kernel's per-instance event queue (`fs.inotify.max_queued_events`), read, never written. */
function maxQueuedEvents(): number {
  return Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim());
}

/**
 * Real event loss: sersync2 is stopped (SIGSTOP) while more files are written than the kernel
 * queues events for, then continued. It reads IN_Q_OVERFLOW, logs it once, resyncs the tree,
 * and files whose events were dropped arrive.
 */
export async function eventOverflow(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  try {
    const proc = await rig.start();
    writeFileSync(join(rig.src, 'before.txt'), 'before');
    await rig.converged(10_000, 'before the overflow');
    const pid = proc.child.pid ?? 0;
    process.kill(pid, 'SIGSTOP');
    // Each new file is at least two events (IN_CREATE, IN_CLOSE_WRITE).
    const files = Math.ceil(maxQueuedEvents() / 2) + 1000;
    try {
      for (let i = 0; i < files; i++) writeFileSync(join(rig.src, `o${i}`), `${i}`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await rig.converged(30_000, 'after the overflow');
    assert.equal(rig.logLines(OVERFLOW).length, 1, 'the overflow is logged once');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * The watched directory is deleted, then made again: the replica is never emptied while it is
 * gone (nor by the deletes that came with its removal), and once it is back the replica follows
 * it again.
 */
export async function rootDeletedAndRecreated(
  work: string,
  daemon: RsyncDaemon,
  goneMs: number,
): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  try {
    await rig.start();
    mkdirSync(join(rig.src, 'd'));
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    writeFileSync(join(rig.src, 'd', 'b.txt'), 'b');
    await rig.converged(10_000, 'before the root went');
    rmSync(rig.src, { recursive: true });
    await eventually(
      () => rig.logLines(/watched directory vanished/).length === 1,
      10_000,
      'the vanished root',
    );
    const deadline = Date.now() + goneMs;
    while (Date.now() < deadline) {
      for (const f of ['a.txt', 'd/b.txt'])
        assert.ok(existsSync(join(rig.replica, f)), `${f} left the replica while the root was gone`);
      await new Promise((r) => setTimeout(r, 100));
    }
    mkdirSync(join(rig.src, 'd'), { recursive: true });
    writeFileSync(join(rig.src, 'a.txt'), 'a, again');
    writeFileSync(join(rig.src, 'c.txt'), 'c');
    await rig.converged(15_000, 'after the root came back');
    writeFileSync(join(rig.src, 'd', 'later.txt'), 'replication resumed');
    await rig.converged(10_000, 'a change after the root came back');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}
