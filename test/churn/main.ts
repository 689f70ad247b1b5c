/**
 * `npm run churn -- --ops 20000 [--seed N] [--batches K]`: the churn test at length, against a
 * real daemon and the real CLI. Prints one line per batch and exits non-zero on any divergence.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { disposeRsyncDaemon, startRsyncDaemon } from '../helpers/rsyncd.js';
import { sersyncConfigXml, startSersync, writeConfig } from '../helpers/sersync.js';
import { tempDir } from '../helpers/tmp.js';
import { eventually, treeDiff } from '../helpers/trees.js';
import { churn } from './churn.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    batches: { type: 'string', default: '1' },
  },
});
const ops = Number(values.ops);
const seed = Number(values.seed);
const daemon = await startRsyncDaemon();
const work = await tempDir('sersync-churn-');
const src = join(work.path, 'W');
mkdirSync(src);
const config = writeConfig(
  work.path,
  sersyncConfigXml({ watch: src, daemons: [daemon], failLog: join(work.path, 'fail.sh') }),
);
const proc = await startSersync(config, [], join(work.path, 'state'));
let failed = false;
try {
  for (let b = 0; b < Number(values.batches); b++) {
    const started = performance.now();
    const stats = churn(src, ops, seed + b);
    const wrote = performance.now();
    failed = !(await eventually(() => treeDiff(src, daemon.dir) === '', 120_000, 'convergence').then(
      () => true,
      () => false,
    ));
    const line = `churn seed=${seed + b} ops=${ops} applied in ${Math.round(wrote - started)} ms, converged ${failed ? 'NO' : `${Math.round(performance.now() - wrote)} ms after the last operation`} ${JSON.stringify(stats.byKind)}`;
    process.stdout.write(`${line}\n`);
    if (failed) {
      process.stdout.write(treeDiff(src, daemon.dir));
      break;
    }
  }
} finally {
  await proc.stop();
  await disposeRsyncDaemon(daemon);
  await work.remove();
}
process.exitCode = failed ? 1 : 0;
