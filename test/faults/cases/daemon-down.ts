import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../../helpers/trees.js';
import { freePort, type RsyncDaemon } from '../../helpers/rsyncd.js';
import { crashDaemon } from '../lib/procs.js';
import { Rig } from '../lib/rig.js';
import { startWriter } from '../lib/workload.js';
import type { CaseResult } from './result.js';

const CLOCK_CHILD = fileURLToPath(new URL('../lib/clock-child.js', import.meta.url));

export interface DaemonDownParams {
  readonly dirs: number;
  readonly filesPerDir: number;
  /** How long the daemon stays down. */
  readonly downMs: number;
  /**
   * Also require that no file travels twice once the daemon is back. Under heavy machine load a
   * path can ride in both the released backlog and a later batch (a delta re-send, not lost
   * work), so the bounded run in `npm test` checks convergence only and the soak checks this.
   */
  readonly exactlyOnce: boolean;
}

/**
 * The rsync daemon is killed (with the transfers it is serving) in the middle of a burst, stays
 * down, and comes back: everything converges, and once it is back no file travels twice: the
 * backlog is coalesced per path, and the full sync that follows an interruption (to remove the
 * temp files of killed receivers) sends nothing that already arrived.
 */
export async function daemonDownDuringBurst(
  work: string,
  daemon: RsyncDaemon,
  p: DaemonDownParams,
): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  await rig.start();
  try {
    const writer = startWriter(['burst', rig.src, String(p.dirs), String(p.filesPerDir)]);
    await writer.progress(3);
    await crashDaemon(daemon);
    try {
      await writer.finished();
      await new Promise((r) => setTimeout(r, p.downMs));
      assert.ok(rig.queued().length > 0, 'work waits in the queue while the daemon is down');
      // The replication lag shows it: the oldest change not on the remote is older than the outage.
      const [remote] = rig.status().remotes;
      assert.ok((remote?.lagSeconds ?? 0) >= p.downMs / 1000, `lag ${remote?.lagSeconds} s while down`);
      const lag = await rig.metric('sersync_replication_lag_seconds', { remote: remote?.remote ?? '' });
      assert.ok((lag ?? 0) >= p.downMs / 1000, `/metrics: lag ${lag} s while down`);
      assert.equal(remote?.contact, 'unreachable', 'status: the remote unreachable');
      const down = { root: remote.trees[0] ?? '', remote: remote.remote, reason: 'unreachable' };
      assert.equal(await rig.metric('sersync_remote_down', down), 1, '/metrics: the remote down');
    } finally {
      await daemon.restart();
    }
    const before = (await daemon.received()).length;
    await rig.converged(30_000, 'after the daemon came back');
    const counts = new Map<string, number>();
    for (const path of (await daemon.received()).slice(before)) counts.set(path, (counts.get(path) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    if (p.exactlyOnce) assert.deepEqual(twice, [], 'files sent more than once after the daemon came back');
    assert.equal(rig.status().remotes[0]?.lagSeconds, 0, 'no lag once converged');
    await eventually(() => rig.status().remotes[0]?.contact === 'answering', 10_000, 'status: answering');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

export interface RenamesDownParams {
  /** Down / up rounds. */
  readonly rounds: number;
  /** Operations of the rename workload while the daemon is down, and again once it is back. */
  readonly ops: number;
  readonly downMs: number;
  readonly seed: number;
}

/**
 * Directories renamed back and forth (and written into) while the rsync daemon is down, and
 * again while the backlog is being sent once it is back: the moves fail and are retried while
 * newer sends create their directories on the replica, and a directory renamed away must still
 * be removed from the replica. While the daemon is down, status shows the queued work and the
 * error; once it is back the replica converges with no stale directory.
 */
export async function dirRenamesWhileDown(
  work: string,
  daemon: RsyncDaemon,
  p: RenamesDownParams,
): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon });
  await rig.start();
  try {
    for (let round = 0; round < p.rounds; round++) {
      const seed = p.seed + round;
      await crashDaemon(daemon);
      try {
        await startWriter(['renames', rig.src, String(p.ops), String(seed)]).finished();
        await new Promise((r) => setTimeout(r, p.downMs));
        const status = rig.cli(['status', '--json']);
        assert.equal(status.status, 0, status.stderr);
        const [remote] = (
          JSON.parse(status.stdout) as { remotes: { queuedRetries: number; lastError: string | null }[] }
        ).remotes;
        assert.ok(
          remote !== undefined && remote.queuedRetries > 0,
          `status shows the backlog: ${status.stdout}`,
        );
        assert.ok(remote.lastError !== null, 'status shows why');
      } finally {
        await daemon.restart();
      }
      await startWriter(['renames', rig.src, String(p.ops), String(seed + 1000)]).finished();
      await rig.converged(30_000, `round ${round + 1} (renames seed ${seed})`);
    }
    return { faults: p.rounds, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/**
 * sersync's default fail log inside the watched tree (`watch="/tmp"` with `/tmp/rsync_fail_log.sh`,
 * as a published Ansible role renders it) while the daemon is down: every failure rewrites the fail
 * log, which is sersync2's own file and not a change, so failures do not feed on themselves (before,
 * each rewrite was sent, failed and rewrote it again: hundreds of failures in seconds). While down,
 * the queue and status hold the one file written; once the daemon is back everything converges, and
 * neither a real-time sync nor a full sync puts the fail log on the replica.
 */
export async function failLogInTreeWhileDown(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const failLog = join(rig.src, 'rsync_fail_log.sh');
  const xml = readFileSync(rig.config, 'latin1');
  writeFileSync(
    rig.config,
    xml.replace(`<failLog path="${rig.failLog}"`, `<failLog path="${failLog}"`),
    'latin1',
  );
  assert.match(
    rig.cli(['check']).stdout,
    /the fail log \S+ lies inside the watched tree \S+: it is not replicated, and writing it is not a change/,
  );
  await rig.start();
  try {
    await crashDaemon(daemon);
    try {
      writeFileSync(join(rig.src, 'a.txt'), 'a');
      await eventually(
        () => existsSync(failLog) && readFileSync(failLog, 'utf8').includes('a.txt'),
        20_000,
        'a.txt in the fail log',
      );
      // Two more attempts since the fail log listed it (made due at once, as an operator would):
      // time enough for a rewrite of the fail log to have come back as a change.
      const attemptsOf = (): number => rig.queued().find((r) => r.op.path === 'a.txt')?.attempts ?? 0;
      const attempts = attemptsOf();
      for (const n of [1, 2]) {
        assert.equal(rig.cli(['queue', 'retry', '--all']).status, 0);
        await eventually(() => attemptsOf() >= attempts + n, 20_000, `retry ${n} of a.txt`);
      }
      assert.deepEqual(
        rig.queued().map((r) => r.op.path),
        ['a.txt'],
        'only the written file waits: the fail log is not a change',
      );
      const [remote] = rig.status().remotes;
      assert.equal(remote?.queuedRetries, 1, 'status: the one file waits while down');
      const failures = rig.logLines('sync failed, queued for retry').length;
      assert.ok(failures <= attempts + 4, `${failures} failed runs for ${attempts + 2} attempts`);
    } finally {
      await daemon.restart();
    }
    await rig.converged(30_000, 'after the daemon came back', ['rsync_fail_log.sh']);
    assert.equal(rig.cli(['resync']).status, 0);
    await eventually(() => rig.status().fullSync.lastAt !== null, 30_000, 'the full sync');
    assert.equal(
      existsSync(join(rig.replica, 'rsync_fail_log.sh')),
      false,
      'the fail log stays off the replica',
    );
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}

/** libfaketime's preload library where Debian's package puts it, or undefined when not installed. */
export function fakeTimeLibrary(): string | undefined {
  const lib = '/usr/lib';
  for (const dir of existsSync(lib) ? readdirSync(lib) : []) {
    const file = join(lib, dir, 'faketime', 'libfaketime.so.1');
    if (existsSync(file)) return file;
  }
  return undefined;
}

/**
 * The wall clock stepped back half an hour (an NTP correction, a hardware clock kept in local time)
 * while a change waits for a daemon that is down, run under libfaketime (the monotonic clock is
 * left alone, as a real step leaves it): the daemon says so, `status` and `/metrics` keep the lag
 * growing from where it was (it read 0 until the clock caught up, while the retries waited half an
 * hour more); once the daemon is back, the replica converges.
 */
export async function clockSteppedBackWhileDown(work: string, daemon: RsyncDaemon): Promise<CaseResult> {
  const library = fakeTimeLibrary();
  assert.ok(library !== undefined, 'libfaketime is not installed');
  const rig = Rig.create(work, { daemon, metricsPort: await freePort() });
  const offset = join(rig.base, 'clock-offset');
  writeFileSync(offset, '+0\n');
  try {
    await rig.start([], {
      wrapper: [process.execPath, CLOCK_CHILD],
      env: {
        LD_PRELOAD: library,
        FAKETIME_TIMESTAMP_FILE: offset,
        FAKETIME_NO_CACHE: '1',
        DONT_FAKE_MONOTONIC: '1',
      },
    });
    await crashDaemon(daemon);
    try {
      writeFileSync(join(rig.src, 'queued.txt'), 'waits for the daemon');
      const lag = (): number => rig.status().remotes[0]?.lagSeconds ?? 0;
      await eventually(() => rig.status().remotes[0]?.queuedRetries === 1 && lag() >= 2, 20_000, 'lag');
      const before = lag();
      writeFileSync(offset, '-30m\n');
      await eventually(() => rig.logLines(/wall clock was stepped/).length > 0, 10_000, 'the step seen');
      assert.ok(lag() >= before, `lag after the step ${lag()} s, before it ${before} s`);
      const remote = rig.status().remotes[0]?.remote ?? '';
      const metric = await rig.metric('sersync_replication_lag_seconds', { remote });
      assert.ok(metric !== undefined && metric >= before, `sersync_replication_lag_seconds ${metric}`);
    } finally {
      await daemon.restart();
    }
    await rig.converged(30_000, 'the change queued before the step');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
  }
}
