import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awaitConvergence, epochNow } from '../converge.js';
import { pad, resetDir } from '../fixtures.js';
import { forEachContender, withReplicator, type WorkloadContext } from '../harness.js';
import { bareRsync } from '../lab.js';
import { atMost } from '../report.js';
import { addSample, find, OURS, type WorkloadResult } from '../results.js';
import { convergenceFailure, recordActivity } from './common.js';

const CONVERGE_TIMEOUT_MS = 60_000;
const LINES = 20;
/** GNU sed's `-i` temporary file: `sedXXXXXX` beside the file it edits. */
const SED_TEMP = /(^|\/)sed[A-Za-z0-9]{6}$/;

/** `files` text files of 20 lines in `seed/edits`; every line ends in a version word ` v0`. */
function writeEditsSeed(seed: string, files: number): string[] {
  resetDir(join(seed, 'edits'));
  const names = Array.from({ length: files }, (_, i) => `edits/t${pad(i, 5)}.txt`);
  for (const [i, name] of names.entries()) {
    const text = Array.from({ length: LINES }, (_, l) => `file ${i} line ${l} alpha v0\n`).join('');
    writeFileSync(join(seed, name), text);
  }
  return names;
}

/** `sed -i` over every file at once, as a person would; resolves when sed has exited (epoch ms). */
async function sedInPlace(cwd: string, expr: string, files: readonly string[]): Promise<number> {
  const child = spawn('sed', ['-i', '-e', expr, '--', ...files], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`sed exited ${code}: ${stderr}`);
  return epochNow();
}

/**
 * 3. Edits: `sed -i` on existing files (a temporary file each, renamed over the original);
 * convergence, rsync runs, and temporary files that reached the daemon, which must be none.
 */
export async function edits(ctx: WorkloadContext): Promise<WorkloadResult> {
  const { lab, sizes } = ctx;
  const { files, repeats } = sizes.edits;
  const seed = join(lab.work, 'seeds', 'edits');
  const names = writeEditsSeed(seed, files);
  const contenders = await forEachContender(
    ctx,
    {
      dir: 'edits',
      seed,
      dirs: 2,
      floor: 'one rsync -a -I of the edited files',
      leaveOut: (s) => (s.slow ? 'the 15 s default delay: delay=0 shows its behaviour sooner' : null),
    },
    async (trial) => {
      for (let r = 0; r < repeats && trial.result.failures.length === 0; r++) {
        await withReplicator(lab, trial, async () => {
          lab.log.mark();
          const started = epochNow();
          const done = await sedInPlace(trial.src, `s/ v[0-9]*$/ v${r + 1}/`, names);
          addSample(trial.result, 'edit', done - started);
          if (trial.subject === null) await bareRsync(lab, trial.src, ['-I'], ['edits']);
          const at = await awaitConvergence(lab, trial.src, CONVERGE_TIMEOUT_MS);
          if (at === null) {
            convergenceFailure(trial.result, r, CONVERGE_TIMEOUT_MS);
            return;
          }
          addSample(trial.result, 'converge', Math.max(0, at - done));
          const { received } = await recordActivity(lab, trial.result);
          addSample(trial.result, 'temps', received.filter((n) => SED_TEMP.test(n)).length);
        });
      }
    },
  );
  rmSync(seed, { recursive: true, force: true });
  const ours = find(contenders, OURS);
  const temps =
    ours === undefined || ours.failures.length > 0
      ? null
      : (ours.samples.temps ?? []).reduce((a, b) => a + b, 0);
  return {
    name: 'edits',
    title: `3. Edits: sed -i on ${files.toLocaleString('en')} existing files (${repeats} repeat${repeats > 1 ? 's' : ''})`,
    metrics: [
      { key: 'edit', label: 'sed took', unit: 'ms' },
      { key: 'converge', label: 'converged after sed', unit: 'ms', vsFloor: true },
      { key: 'runs', label: 'rsync runs', unit: 'count' },
      { key: 'bytes', label: 'bytes sent', unit: 'bytes' },
      { key: 'temps', label: 'sed temp files at the daemon', unit: 'count' },
    ],
    variants: [{ label: '', contenders }],
    targets: [
      atMost('edits: sed temp files that reached the daemon (all repeats)', temps, 0, 'count', 'incomplete'),
    ],
    notes: [],
  };
}
