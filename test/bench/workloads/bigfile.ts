import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { awaitConvergence, epochNow } from '../converge.js';
import { forEachContender, withReplicator, type WorkloadContext } from '../harness.js';
import { bareRsync } from '../lab.js';
import { atMost, formatValue } from '../report.js';
import { addSample, ourFigure, type WorkloadResult } from '../results.js';
import { convergenceFailure, recordActivity } from './common.js';

const CONVERGE_TIMEOUT_MS = 600_000;
const CHUNK = 64 * 1024;
const TARGET_SYNCS = 3;
const TARGET_BYTES_RATIO = 1.5;

/**
 * Writes `bytes` of random data (no block repeats, so rsync cannot match one against another)
 * in 64 KiB chunks, spread over `overMs`. `beforeClose` runs just before the final close.
 */
async function writeSlowly<T>(
  file: string,
  bytes: number,
  overMs: number,
  beforeClose: () => T,
): Promise<{ before: T; closedAt: number }> {
  const fd = openSync(file, 'w');
  const chunk = Buffer.allocUnsafe(CHUNK);
  const chunks = Math.ceil(bytes / CHUNK);
  const start = performance.now();
  try {
    for (let i = 0; i < chunks; i++) {
      randomFillSync(chunk);
      writeSync(fd, chunk);
      const ahead = start + ((i + 1) / chunks) * overMs - performance.now();
      if (ahead >= 10) await new Promise((r) => setTimeout(r, ahead));
    }
    return { before: beforeClose(), closedAt: epochNow() };
  } finally {
    closeSync(fd);
  }
}

/**
 * 4. Big file: one large file written steadily over a few seconds. A replicator should send it
 * once, complete: how many rsync runs started before the final close, and the bytes sent in all
 * against the file's size.
 */
export async function bigfile(ctx: WorkloadContext): Promise<WorkloadResult> {
  const { lab, sizes } = ctx;
  const { bytes, writeMs } = sizes.bigfile;
  const contenders = await forEachContender(
    ctx,
    {
      dir: 'bigfile',
      seed: null,
      dirs: 1,
      floor: 'one rsync -a of the finished file',
      leaveOut: (s) => (s.slow ? 'the 15 s default delay: delay=0 shows its behaviour sooner' : null),
    },
    async (trial) => {
      await withReplicator(lab, trial, async () => {
        lab.log.mark();
        const { before, closedAt } = await writeSlowly(
          join(trial.src, 'big.bin'),
          bytes,
          writeMs,
          () => lab.log.activity().sessions,
        );
        addSample(trial.result, 'early', before);
        if (trial.subject === null) await bareRsync(lab, trial.src, [], ['big.bin']);
        const at = await awaitConvergence(lab, trial.src, CONVERGE_TIMEOUT_MS);
        if (at === null) {
          convergenceFailure(trial.result, 0, CONVERGE_TIMEOUT_MS);
          return;
        }
        addSample(trial.result, 'converge', Math.max(0, at - closedAt));
        const activity = await recordActivity(lab, trial.result);
        addSample(trial.result, 'sizes', activity.bytes / bytes);
      });
    },
  );
  return {
    name: 'bigfile',
    title: `4. Big file: ${formatValue(bytes, 'bytes')} written in 64 KiB chunks over ${writeMs / 1000} s`,
    metrics: [
      { key: 'early', label: 'rsync runs before the close', unit: 'count' },
      { key: 'converge', label: 'converged after close', unit: 'ms', vsFloor: true },
      { key: 'runs', label: 'rsync runs', unit: 'count' },
      { key: 'bytes', label: 'bytes sent', unit: 'bytes' },
      { key: 'sizes', label: 'sent / file size', unit: 'times' },
    ],
    variants: [{ label: '', contenders }],
    targets: [
      atMost(
        'big file: rsync runs started before the final close',
        ourFigure(contenders, 'early', 'max'),
        TARGET_SYNCS,
        'count',
        'incomplete',
      ),
      atMost(
        'big file: bytes sent / file size',
        ourFigure(contenders, 'sizes', 'max'),
        TARGET_BYTES_RATIO,
        'times',
        'incomplete',
      ),
    ],
    notes: [],
  };
}
