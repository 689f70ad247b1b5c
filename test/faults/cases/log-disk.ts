/**
 * The log file's disk full (a /var/log filled by something else, the commonest disk to fill). With
 * pino's asynchronous file destination the first failed write was thrown where nothing caught it,
 * and the exit that followed retried its flush for ever: sersync2 hung, replicating nothing,
 * answering nothing, and still "running" for systemd. Now replication goes on, `status` and
 * `/metrics` say the log cannot be written while it lasts, the lines that waited are written once
 * there is room, a rotation while it is full closes the old file, and a stop then still ends.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { DaemonStatus } from '../../../src/daemon/status.js';
import { freePort, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { CLI } from '../../helpers/sersync.js';
import { eventually } from '../../helpers/trees.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

/** Fills the file system at `dir` (a small tmpfs) with one file; returns it. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  // dd ends with ENOSPC when the disk is full: that is its success here
  spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { encoding: 'utf8' });
  return filler;
}

/** The files below `dir` that process `pid` holds open. */
function logFilesOpen(pid: number, dir: string): string[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(`${dir}/`))
    .sort();
}

export async function logDiskFull(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const disk = join(work, `log-disk-${process.pid}-${Date.now()}`);
  mkdirSync(disk);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'sersync-log-disk', disk], {
    encoding: 'utf8',
  });
  assert.equal(mounted.status, 0, mounted.stderr);
  const logFile = join(disk, 'sersync2.log');
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  try {
    await rig.start(['--log-file', logFile]);
    const filler = fill(disk);
    // Each file a batch, each batch a line: the log's last page may hold a few more before it fails.
    let n = 0;
    let status: DaemonStatus | null = null;
    await eventually(
      () => {
        writeFileSync(join(rig.src, `full-${n++}.txt`), `written while the log's disk is full ${n}`);
        return (status = rig.status()).logWriteFailure !== null;
      },
      20_000,
      'status says the log cannot be written',
    );
    await rig.converged(20_000, 'the log disk full');
    assert.match((status as DaemonStatus | null)?.logWriteFailure?.error ?? '', /ENOSPC/);
    assert.equal(await rig.metric('sersync_log_write_failing', {}), 1);
    assert.match(rig.running.stderr(), /cannot write the log file .*ENOSPC.*replication goes on/);

    rmSync(filler);
    writeFileSync(join(rig.src, 'room-again.txt'), 'the log has room again');
    await rig.converged(20_000, 'room on the log disk again');
    await eventually(
      () => readFileSync(logFile, 'utf8').includes('the log can be written again'),
      10_000,
      'the log says it can be written again',
    );
    assert.equal(rig.status().logWriteFailure, null);
    assert.equal(await rig.metric('sersync_log_write_failing', {}), 0);
    // the lines that waited were written: every batch of the full spell is in the file
    const synced = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"synced"'));
    assert.ok(synced.length >= 2, `${synced.length} "synced" lines in the log`);

    // Full again: logrotate moves the file aside and sends SIGUSR1; the old file, which cannot take
    // the lines it holds, is closed (not kept open for ever), and a stop ends with exit 0.
    fill(disk);
    let n2 = 0;
    await eventually(
      () => {
        writeFileSync(join(rig.src, `again-${n2++}.txt`), 'the log disk full again');
        return rig.status().logWriteFailure !== null;
      },
      20_000,
      'status says the log cannot be written again',
    );
    renameSync(logFile, `${logFile}.1`);
    const pid = rig.running.child.pid ?? 0;
    process.kill(pid, 'SIGUSR1');
    await eventually(
      () => JSON.stringify(logFilesOpen(pid, disk)) === JSON.stringify([logFile]),
      10_000,
      `only the new log file open (open now: ${logFilesOpen(pid, disk).join(', ')})`,
    );
    writeFileSync(join(rig.src, 'last.txt'), 'before the stop');
    await rig.converged(20_000, 'the log disk full again');
    const files = rig.files();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      rig.stop(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the stop hung with the log disk full')), 15_000);
      }),
    ]).finally(() => clearTimeout(timer));
    return { faults: 2, files, lost: 0 };
  } finally {
    const child = rig.proc?.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL'); // a stop that hung (the failure above says so)
      await exited;
    }
    if (spawnSync('umount', [disk]).status !== 0) spawnSync('umount', ['-l', disk]);
    rmSync(disk, { recursive: true, force: true });
  }
}

/**
 * stdout and stderr on a full disk, as an init script's `>> /var/log/sersync.log 2>&1` leaves them
 * when that disk fills (here /dev/full: every write fails with ENOSPC). sersync2 died at its first
 * log line; now it replicates, `status` says the log cannot be written, and SIGTERM ends it cleanly.
 */
export async function outputOnFullDisk(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const full = openSync('/dev/full', 'w');
  const child = spawn(process.execPath, [CLI, '-o', rig.config, '--state-dir', rig.state], {
    stdio: ['ignore', full, full],
  });
  closeSync(full);
  const exited = once(child, 'exit');
  try {
    await eventually(() => rig.cli(['status']).status === 0, 15_000, 'sersync2 answers status');
    for (let i = 0; i < 20; i++) writeFileSync(join(rig.src, `out-${i}.txt`), `stdout and stderr full ${i}`);
    await rig.converged(20_000, 'stdout and stderr on a full disk');
    assert.equal(child.exitCode, null, 'sersync2 still runs');
    const status = rig.status();
    assert.match(status.logWriteFailure?.error ?? '', /ENOSPC/);
    assert.equal(await rig.metric('sersync_log_write_failing', {}), 1);
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, 'a clean stop');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/**
 * sersync's fail log on a disk that is full (`/var/log`, where operators put it) while a remote is
 * down: the queue goes on, and `status` and `/metrics` say the fail log is not written while it
 * lasts (it was only logged), then clear once it is written again.
 */
export async function failLogDiskFull(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const disk = join(work, `fail-log-disk-${process.pid}-${Date.now()}`);
  mkdirSync(disk);
  const mounted = spawnSync(
    'mount',
    ['-t', 'tmpfs', '-o', 'size=64k,mode=755', 'sersync-fail-log-disk', disk],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(mounted.status, 0, mounted.stderr);
  const failLog = join(disk, 'rsync_fail_log.sh');
  const rig = Rig.create(work, { daemon, metricsPort: await freePort(), spec: { failLog } });
  try {
    await rig.start();
    const filler = fill(disk);
    await daemon.stop();
    try {
      writeFileSync(join(rig.src, 'while-down.txt'), 'the daemon is down and the fail log disk full');
      // A row enters the fail log at its second failure: the first retry comes 5 s after the first.
      let status: DaemonStatus | null = null;
      await eventually(
        () => (status = rig.status()).failLogWriteFailure !== null,
        20_000,
        'status says the fail log is not written',
      );
      const trouble = (status as DaemonStatus | null)?.failLogWriteFailure;
      assert.equal(trouble?.file, failLog);
      assert.match(trouble.error, /ENOSPC/);
      assert.match(
        rig.cli(['status']).stdout,
        /^! the fail log .* is not written \(since .*ENOSPC.*the retry queue is unaffected$/m,
      );
      assert.equal(await rig.metric('sersync_fail_log_write_failing', {}), 1);
      assert.ok(rig.queued().length > 0, 'the queue holds the change');
    } finally {
      rmSync(filler);
      await daemon.restart();
    }
    await rig.converged(20_000, 'the daemon back and room for the fail log');
    await eventually(() => rig.status().failLogWriteFailure === null, 10_000, 'the fail log written again');
    assert.equal(await rig.metric('sersync_fail_log_write_failing', {}), 0);
    assert.equal(readFileSync(failLog, 'utf8'), '', 'the fail log emptied with the queue');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    if (spawnSync('umount', [disk]).status !== 0) spawnSync('umount', ['-l', disk]);
    rmSync(disk, { recursive: true, force: true });
  }
}
