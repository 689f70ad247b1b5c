import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { RsyncDaemon } from '../../helpers/rsyncd.js';
import { eventually } from '../../helpers/trees.js';
import { rsyncProcesses } from '../lib/procs.js';
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
