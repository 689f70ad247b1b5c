import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { disposeRsyncDaemon, freePort, startRsyncDaemon, type RsyncDaemon } from '../../helpers/rsyncd.js';
import type { Sshd } from '../../helpers/sshd.js';
import { eventually } from '../../helpers/trees.js';
import { processes, rsyncProcesses } from '../lib/procs.js';
import { startStallProxy } from '../lib/proxy.js';
import { Rig } from '../lib/rig.js';
import type { CaseResult } from './result.js';

export interface StallParams {
  /** Seconds: rsync's --timeout (`<timeout time>`), or with `backstop` the `stall` extension. */
  readonly timeoutS: number;
  /** `<timeout>` left off (sersync's default): the stall backstop must end the runs. */
  readonly backstop?: boolean;
  /** How long the remote stays stalled. */
  readonly stallMs: number;
}

/**
 * A remote that accepts connections and then stalls (a proxy holding every byte back): rsync's
 * `--timeout` (from `<timeout>`), or the stall backstop while it is off (the worker stops a run
 * whose I/O stands still, reported as rsync's timeout), ends each run stuck on it, no rsync process outlives its run, the work stays queued, and everything converges once
 * traffic passes again.
 */
export async function stalledRemote(work: string, daemon: RsyncDaemon, p: StallParams): Promise<CaseResult> {
  const proxy = await startStallProxy(daemon.port);
  const marker = `--port=${proxy.port}`;
  const rig = Rig.create(work, {
    daemon,
    port: proxy.port,
    spec: p.backstop === true ? { stallTimeoutS: p.timeoutS } : { timeoutS: p.timeoutS },
  });
  try {
    const proc = await rig.start();
    writeFileSync(join(rig.src, 'before.txt'), 'before the stall');
    await rig.converged(10_000, 'before the stall');
    proxy.stall();
    mkdirSync(join(rig.src, 'during'));
    for (let i = 0; i < 20; i++)
      writeFileSync(join(rig.src, 'during', `f${i}`), `stalled ${i}\n`.repeat(i * 100));
    let timeouts = 0;
    const deadline = Date.now() + p.stallMs;
    while (Date.now() < deadline || timeouts === 0) {
      // Only the replicator's own runs may exist, no more than its one lane runs side by side (one
      // per CPU at most): no run is left behind.
      const running = rsyncProcesses(marker);
      assert.ok(
        running.length <= availableParallelism(),
        `${running.length} rsync runs at once on a stalled remote`,
      );
      for (const r of running) assert.equal(r.ppid, proc.child.pid, 'an rsync not run by sersync2');
      timeouts = rig.queued().filter((r) => r.exitCode === 30).length;
      assert.ok(Date.now() < deadline + (p.timeoutS + 10) * 1000, 'rsync --timeout never fired');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(rig.queue()[0]?.lastError ?? '', /timeout/);
    proxy.pass();
    await rig.converged(30_000, 'after the remote passed traffic again');
    await rig.stop();
    await eventually(() => rsyncProcesses(marker).length === 0, 5000, 'no rsync left running');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    await rig.stop();
    await proxy.close();
  }
}

/**
 * The same over ssh, for real (ssh and sshd on loopback): the remote's rsync holds every byte back
 * while a gate file exists (`--rsync-path` names a wrapper that waits for it). The stall backstop
 * stops each run; `status` and `/metrics` show the backlog, the timeout and the growing lag while it
 * lasts; no ssh, relay or supervisor outlives its run; once the remote answers, it converges, and
 * after the stop nothing of the runs is left.
 */
export async function stalledOverSsh(work: string, ssh: Sshd): Promise<CaseResult> {
  const daemon = await startRsyncDaemon();
  const dir = mkdtempSync(join(work, 'remote-'));
  const gate = join(dir, 'stall');
  const remoteRsync = join(dir, 'remote-rsync');
  writeFileSync(remoteRsync, `#!/bin/sh\nwhile [ -e ${gate} ]; do sleep 0.05; done\nexec rsync "$@"\n`, {
    mode: 0o755,
  });
  const rig = Rig.create(work, {
    daemon,
    ssh,
    metricsPort: await freePort(),
    spec: { stallTimeoutS: 1, params: `-artuz --rsync-path=${remoteRsync}` },
  });
  // This case's own processes on this side (the remote's side runs the wrapper under sshd).
  const local = (): string[] =>
    processes()
      .filter((p) => p.argv.some((a) => a.includes(remoteRsync)))
      .map((p) => basename(p.argv[0] ?? ''))
      .filter((name) => name === 'ssh' || name === 'sersync-confine');
  try {
    await rig.start([], { env: { PATH: `${ssh.bin}:${process.env.PATH ?? ''}` } });
    writeFileSync(join(rig.src, 'before.txt'), 'before the stall');
    await rig.converged(15_000, 'before the stall');
    writeFileSync(gate, '');
    mkdirSync(join(rig.src, 'during'));
    for (let i = 0; i < 20; i++) writeFileSync(join(rig.src, 'during', `f${i}`), `stalled ${i}\n`);
    await eventually(
      () => rig.queued().some((r) => r.exitCode === 30),
      20_000,
      'a run stopped by the backstop',
    );
    // While it lasts: the backlog and why, and the lag. The backlog is in flight again for a second
    // each time a probe finds the port answering: read until a look finds it waiting.
    let remote: ReturnType<Rig['status']>['remotes'][number] | undefined;
    await eventually(
      () => ((remote = rig.status().remotes[0])?.queuedRetries ?? 0) > 0,
      20_000,
      'status shows the backlog',
    );
    assert.match(remote?.lastError ?? '', /no I\/O for 1 s/, 'status says why');
    assert.ok(
      remote?.contact === 'unreachable' || remote?.contact === 'runs-lost',
      `status says it takes no runs: ${remote?.contact}`,
    );
    await eventually(
      async () =>
        ((await rig.metric('sersync_replication_lag_seconds', { remote: remote?.remote ?? '' })) ?? 0) >= 2,
      20_000,
      '/metrics: the lag grows while the remote stalls',
    );
    // A lane runs batches side by side (one per CPU at most), each an ssh, its relay and its
    // supervisor: more would be runs left behind.
    const during = local();
    const shells = during.filter((n) => n === 'ssh').length;
    assert.ok(shells <= availableParallelism(), `runs left behind: ${during.join(' ')}`);
    assert.ok(during.length <= 3 * availableParallelism(), `runs left behind: ${during.join(' ')}`);
    rmSync(gate);
    await rig.converged(30_000, 'after the remote answered again');
    await rig.stop();
    await eventually(() => local().length === 0, 5_000, 'nothing of the runs left after the stop');
    return { faults: 1, files: rig.files(), lost: 0 };
  } finally {
    rmSync(gate, { force: true });
    await rig.stop();
    await disposeRsyncDaemon(daemon);
  }
}
