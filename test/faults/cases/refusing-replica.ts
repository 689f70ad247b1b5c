import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { disposeRsyncDaemon, startRsyncDaemon, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { eventually } from '../../helpers/trees.js';
import { editDaemonConf } from '../lib/daemon-conf.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

const READ_ONLY = 'read only = yes';

/**
 * The replica refuses writes (a read-only module): every change waits in the queue with
 * rsync's own message; once the module is writable again, `queue retry --all` sends it all.
 */
export async function refusingReplica(work: string, files: number): Promise<CaseResult> {
  const daemon = await startRsyncDaemon({ moduleLines: [READ_ONLY] });
  const rig = Rig.create(work, { daemon });
  try {
    await rig.start();
    mkdirSync(join(rig.src, 'd'));
    for (let i = 0; i < files; i++) writeFileSync(join(rig.src, 'd', `f${i}`), `refused ${i}`);
    await eventually(
      () => rig.queued().some((r) => r.op.path === 'd' || r.op.path.startsWith('d/')),
      15_000,
      'queued rows',
    );
    for (const row of rig.queue())
      assert.match(row.lastError ?? '(in flight)', /ERROR: module is read only|in flight/);
    assert.deepEqual(readdirSync(daemon.dir), [], 'a read-only replica received something');
    editDaemonConf(daemon, (conf) => conf.replace(`  ${READ_ONLY}\n`, ''));
    const r = rig.cli(['queue', 'retry', '--all']);
    assert.equal(r.status, 0, r.stderr);
    await rig.converged(15_000, 'after the module became writable');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/**
 * The daemon is busy: its module's `max connections` are taken, so it answers `@ERROR: max
 * connections (1) reached -- try again later` (exit 5, the code of a refused login). The rows wait
 * with that line, the log calls the failure `retry`, not `final` (nothing for the operator to fix),
 * and once the slot is free the queue's own retry sends them, with no `queue retry`.
 */
export async function busyDaemon(work: string): Promise<CaseResult> {
  const base = join(work, `busy-${process.pid}`);
  mkdirSync(base, { recursive: true });
  const daemon = await startRsyncDaemon({
    moduleLines: ['max connections = 1', `lock file = ${join(base, 'rsyncd.lock')}`],
  });
  const rig = Rig.create(work, { daemon });
  let slot: Socket | null = null;
  try {
    await rig.start();
    slot = await holdModuleSlot(daemon);
    mkdirSync(join(rig.src, 'd'));
    for (let i = 0; i < 20; i++) writeFileSync(join(rig.src, 'd', `f${i}`), `busy ${i}`);
    await eventually(
      () => rig.queued().some((r) => /max connections \(1\) reached/.test(r.lastError ?? '')),
      15_000,
      'rows refused by a busy daemon',
    );
    // The row is written before the log line that reports it.
    let failed: Record<string, unknown>[] = [];
    await eventually(
      () => (failed = rig.logLines('sync failed, queued for retry')).length > 0,
      5_000,
      'the failure logged',
    );
    for (const line of failed) {
      assert.equal(line.exitCode, 5);
      assert.equal(
        line.outcome,
        'retry',
        `a busy daemon is not the operator's to fix: ${JSON.stringify(line)}`,
      );
    }
    assert.deepEqual(readdirSync(daemon.dir), [], 'a busy daemon received something');
    slot.destroy();
    await rig.converged(20_000, 'once the slot was free, by the queue alone');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    slot?.destroy();
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}

/** Takes the module's connection slot: greets the daemon, names the module, and stays at its password prompt. */
async function holdModuleSlot(daemon: RsyncDaemon): Promise<Socket> {
  const s = connect(daemon.port, '127.0.0.1');
  await once(s, 'connect');
  let seen = '';
  s.setEncoding('latin1').on('data', (c: string) => (seen += c));
  s.write(`@RSYNCD: 31.0\n${daemon.module}\n`);
  // The daemon claims the slot before it asks for the password.
  await eventually(() => seen.includes('@RSYNCD: AUTHREQD'), 5_000, 'the daemon to ask for a password');
  return s;
}

/**
 * The replica's receiver refuses a file that the source has (`-K` and a replica directory that is
 * a link out of the module: rsync's generator says "Too many levels of symbolic links", or
 * "Invalid cross-device link" in Debian's patched 3.2.7; exit 23). It did not arrive, so it waits in the queue with that line; it is not taken for a source
 * that vanished. Once the link is gone and retried, it converges.
 */
export async function receiverRefusesThroughLink(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, spec: { params: '-artuzK' } });
  const outside = join(rig.base, 'outside');
  const link = join(rig.replica, 'd');
  try {
    mkdirSync(outside);
    symlinkSync(outside, link);
    mkdirSync(join(rig.src, 'd'));
    await rig.start();
    writeFileSync(join(rig.src, 'd', 'f'), 'must arrive');
    await eventually(() => rig.queued().some((r) => r.attempts > 0), 15_000, 'a failed row');
    const rows = rig.queue();
    assert.ok(rows.length > 0);
    // rsync 3.5 says ELOOP; Debian's patched 3.2.7 says EXDEV: either way its generator refused.
    for (const row of rows)
      assert.match(row.lastError ?? '', /Too many levels of symbolic links|Invalid cross-device link/);
    assert.equal(existsSync(join(outside, 'f')), false, "written through the replica's link");
    rmSync(link);
    const r = rig.cli(['queue', 'retry', '--all']);
    assert.equal(r.status, 0, r.stderr);
    await rig.converged(15_000, "after the replica's link was removed");
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}
