/**
 * The retry queue's database held by another process or damaged: a clear error at start that
 * names the file and what to do, never a silent empty queue, never a stack trace; locked while
 * running, shown in status and /metrics while it lasts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { queueFileFor } from '../../../src/queue/state-dir.js';
import { openWorkStore } from '../../../src/queue/store.js';
import { freePort, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { CLI } from '../../helpers/sersync.js';
import { eventually } from '../../helpers/trees.js';
import { WAL_DAMAGES } from '../../helpers/wal-damage.js';
import { crashDaemon } from '../lib/procs.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

const HOLD_LOCK = join(import.meta.dirname, '..', 'lib', 'hold-lock.js');

/** A process holding the database's write lock until `release()`. */
async function holdLock(file: string): Promise<{ release: () => Promise<void> }> {
  const child = spawn(process.execPath, [HOLD_LOCK, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  assert.equal(line.toString().trim(), 'locked');
  return {
    release: async () => {
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    },
  };
}

/** `sersync2` (the replicator) run to completion: it must refuse to start. */
function startRefused(rig: Rig, args: readonly string[] = []): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, [CLI, ...args, '-o', rig.config, '--state-dir', rig.state], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 1, `sersync2 should refuse to start:\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout, /watch path is/, 'it started watching');
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'a stack trace');
  assert.doesNotMatch(r.stderr, /internal error/);
  return r;
}

/** Locked by another process at start: refused with the reason; reading still works; fine once free. */
export async function queueLockedAtStart(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  assert.deepEqual(rig.queue(), []); // creates the database
  const file = queueFileFor(rig.state, rig.config);
  const lock = await holdLock(file);
  try {
    const r = startRefused(rig);
    assert.ok(r.stderr.includes(`sersync2: ${file}: the retry queue is locked by another process`), r.stderr);
    assert.deepEqual(rig.queue(), [], 'queue list reads a locked queue');
  } finally {
    await lock.release();
  }
  try {
    await rig.start();
    writeFileSync(join(rig.src, 'after.txt'), 'the lock is gone');
    await rig.converged(10_000, 'after the lock was released');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * Locked for longer than SQLite waits, while changes arrive: they are kept until the queue can
 * be written again, and then sent; `status` and /metrics say the queue cannot be written while
 * it lasts (at least `lockMs`), and stop saying so once it can.
 */
export async function queueLockedWhileRunning(
  work: string,
  daemon: RsyncDaemon,
  lockMs: number,
): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    await rig.start();
    writeFileSync(join(rig.src, 'before.txt'), 'before');
    await rig.converged(10_000, 'before the lock');
    assert.equal(rig.status().queueWriteFailure, null);
    const lock = await holdLock(queueFileFor(rig.state, rig.config));
    const locked = Date.now();
    try {
      for (let i = 0; i < 20; i++)
        writeFileSync(join(rig.src, `during${i}.txt`), `written under the lock ${i}`);
      await eventually(
        () => rig.status().queueWriteFailure !== null,
        10_000,
        'status showing the queue locked',
      );
      const failure = rig.status().queueWriteFailure;
      assert.match(failure?.error ?? '', /database is locked \(SQLITE_BUSY\)/);
      assert.ok((failure?.since ?? 0) >= locked);
      assert.equal(await rig.metric('sersync_queue_write_failing', {}), 1);
      const text = rig.cli(['status']);
      assert.match(text.stdout, /^! the retry queue CANNOT BE WRITTEN \(since .* ago\): database is locked/m);
      assert.ok((rig.status().remotes[0]?.pending ?? 0) > 0, 'the changes wait');
      const left = lockMs - (Date.now() - locked);
      if (left > 0) await new Promise((r) => setTimeout(r, left)); // the fault's length, not a wait for it
    } finally {
      await lock.release();
    }
    await rig.converged(30_000, 'after the lock was released');
    await eventually(() => rig.status().queueWriteFailure === null, 10_000, 'status showing it writable');
    assert.equal(await rig.metric('sersync_queue_write_failing', {}), 0);
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * A damaged database (garbage, or a page overwritten): start and `queue list` both refuse with
 * the file and the way out, and leave the file as it was; the way out works.
 */
export async function queueDamaged(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  const file = queueFileFor(rig.state, rig.config);
  rig.queue(); // creates the state directory and the database
  const store = openWorkStore(file);
  const remote = `127.0.0.1::${daemon.module}`;
  const ops = Array.from({ length: 300 }, (_, i) => ({
    kind: 'sync' as const,
    path: `unsent/file-${i}.txt`,
  }));
  store.fail(store.begin(remote, rig.src, ops), { exitCode: 10, message: 'Connection refused' });
  store.close();
  const intact = readFileSync(file);
  const pageSize = intact.readUInt16BE(16);
  const damaged = [
    Buffer.from('this is not a database at all\n'.repeat(200)),
    Buffer.concat([
      intact.subarray(0, pageSize),
      Buffer.alloc(pageSize, 0x5a),
      intact.subarray(2 * pageSize),
    ]),
  ];
  for (const bytes of damaged) {
    writeFileSync(file, bytes);
    const start = startRefused(rig);
    assert.ok(start.stderr.includes(`sersync2: ${file}: the retry queue is damaged`), start.stderr);
    assert.match(start.stderr, /move the file aside .* start with -r/);
    const list = rig.cli(['queue', 'list', '--json']);
    assert.equal(list.status, 1, `queue list must not show a damaged queue as empty: ${list.stdout}`);
    assert.match(list.stderr, /the retry queue is damaged/);
    assert.ok(readFileSync(file).equals(bytes), 'the damaged file was changed');
  }
  renameSync(file, `${file}.damaged`); // the way out the message gives
  try {
    await rig.start(['-r']);
    writeFileSync(join(rig.src, 'after.txt'), 'a fresh queue');
    await rig.converged(10_000, 'after moving the damaged queue aside');
    return { faults: damaged.length, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * `kill -9` with changes queued for a remote that is down, then the queue's `-wal` lost or
 * damaged (deleted, garbage, a garbage header): SQLite drops it and the queued changes with it.
 * The start must not count as clean: it says so and resyncs, and the replica converges.
 */
export async function walLostAfterKill(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  const wal = `${queueFileFor(rig.state, rig.config)}-wal`;
  try {
    await rig.start();
    writeFileSync(join(rig.src, 'first.txt'), 'before any damage');
    await rig.converged(10_000, 'before the damage');
    for (const { name, damage } of WAL_DAMAGES) {
      await rig.stop(); // a clean stop: the main database holds the clean-stop mark
      await rig.start();
      await crashDaemon(daemon);
      try {
        for (let i = 0; i < 30; i++) writeFileSync(join(rig.src, `${name}-${i}.txt`), `queued ${i}`);
        await eventually(
          () => rig.queued().filter((r) => r.state === 'retry').length >= 30,
          20_000,
          'queued',
        );
        await rig.kill9();
        assert.ok(existsSync(wal), 'the killed run left its -wal');
        damage(wal);
      } finally {
        await daemon.restart();
      }
      await rig.start();
      assert.equal(rig.logLines(/did not stop cleanly: resyncing/).length, 1, `-wal ${name}: said`);
      await rig.converged(20_000, `after the -wal was ${name}`);
    }
    return { faults: WAL_DAMAGES.length, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/** While the queue's file is lost: status says so, and since when (returned); /metrics too. */
async function queueLossShown(rig: Rig): Promise<number> {
  const failure = rig.status().queueWriteFailure;
  assert.match(
    failure?.error ?? '',
    /^the retry queue .* was removed while running: what it holds is lost at the next start/,
  );
  assert.equal(await rig.metric('sersync_queue_write_failing', {}), 1);
  return failure?.since ?? 0;
}

/** Stopped after the queue was lost: the next start resyncs, so a change made meanwhile arrives. */
async function nextStartResyncs(rig: Rig): Promise<CaseResult> {
  writeFileSync(join(rig.src, 'while-stopped.txt'), 'only a resync carries it');
  await rig.start();
  await rig.converged(15_000, 'the start after the removal resyncs');
  assert.equal(rig.status().queueWriteFailure, null);
  return { faults: 1, files: rig.files(), lost: 0 };
}

/**
 * The queue's database removed while running (`rm` of the state files): status and /metrics say
 * so while it lasts; the stop is then not marked clean (it would be written into the removed
 * file), so the next start resyncs, and a change made while it was stopped arrives.
 */
export async function queueRemovedWhileRunning(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    await rig.start();
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    await rig.converged(10_000, 'before the removal');
    const file = queueFileFor(rig.state, rig.config);
    const removed = Date.now();
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    // Nobody asks for a while: "since" must still say when it happened, not when status was asked.
    await new Promise((r) => setTimeout(r, 2500)); // the time that passes, not a wait for an event
    const since = await queueLossShown(rig);
    assert.ok(since >= removed && since <= removed + 1500, `since ${since - removed} ms after the removal`);
    await rig.stop();
    return await nextStartResyncs(rig);
  } finally {
    await rig.stop();
  }
}

/**
 * The whole state directory removed while running (a cleaner of /tmp, an `rm -rf` by hand):
 * `status` never says that nothing runs. While the control socket is gone, the watch root the
 * replicator holds answers for it (exit 4, "status unknown"); within seconds the socket is back,
 * with the pid file, and status shows the lost queue; the next start, even after a kill -9,
 * resyncs: nothing is lost.
 */
export async function stateDirRemovedWhileRunning(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const pidFile = join(rig.state, 'sersync2.pid');
  try {
    const { pid } = (await rig.start(['--pid-file', pidFile])).child;
    writeFileSync(join(rig.src, 'a.txt'), 'a');
    await rig.converged(10_000, 'before the removal');
    // Asked where no socket is, as while it is gone: the replicator is found by its watch root.
    const elsewhere = spawnSync(
      process.execPath,
      [CLI, 'status', '-o', rig.config, '--state-dir', join(rig.base, 'elsewhere')],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(elsewhere.status, 4, elsewhere.stderr);
    assert.match(
      elsewhere.stderr,
      new RegExp(`a sersync2 runs \\(pid ${pid}, config .*: it holds the watch root`),
    );
    assert.doesNotMatch(elsewhere.stderr, /no sersync2 is running/);
    rmSync(rig.state, { recursive: true, force: true });
    await eventually(() => rig.cli(['status', '--json']).status === 0, 20_000, 'the control socket put back');
    await queueLossShown(rig);
    assert.equal(readFileSync(pidFile, 'utf8').trim(), String(pid), 'the pid file is back');
    writeFileSync(join(rig.src, 'after.txt'), 'after the removal');
    await rig.converged(15_000, 'after the removal');
    // Killed: only what the running daemon left in the new directory can make the next start
    // resync (a database created there by `queue list` starts out marked clean).
    await rig.kill9();
    return await nextStartResyncs(rig);
  } finally {
    await rig.stop();
  }
}
