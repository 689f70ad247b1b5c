/**
 * `npm run bench`: sersync-ts against the floor (bare rsync) and every peer installed here, on one
 * real rsync daemon, with each target judged PASS or MISS. A MISS is a finding, not a failure:
 * the exit code is 0 unless the bench itself broke.
 */
import { writeFileSync } from 'node:fs';
import { busyNow, describeEnvironment, formatBusy, formatEnvironment, type Busy } from './environment.js';
import { stopAll, type WorkloadContext } from './harness.js';
import { openLab } from './lab.js';
import { BenchUsage, parseBenchArgs, type BenchOptions, type WorkloadName } from './options.js';
import { formatTarget, formatWorkload } from './report.js';
import type { WorkloadResult } from './results.js';
import { FULL, QUICK } from './sizes.js';
import { ALL_SUBJECTS } from './subjects.js';
import { bigfile } from './workloads/bigfile.js';
import { burst } from './workloads/burst.js';
import { churn } from './workloads/churn.js';
import { coalesce } from './workloads/coalesce.js';
import { edits } from './workloads/edits.js';
import { latency } from './workloads/latency.js';
import { rename } from './workloads/rename.js';
import { scale } from './workloads/scale.js';

const RUNNERS: Record<WorkloadName, (ctx: WorkloadContext) => Promise<WorkloadResult>> = {
  latency,
  burst,
  edits,
  bigfile,
  rename,
  scale,
  churn,
  coalesce,
};

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof BenchUsage ? err.exitCode : 2;
  }
  const sizes = opts.quick ? QUICK : FULL;
  const environment = describeEnvironment();
  say(formatEnvironment(environment));
  const lab = await openLab();
  const interrupted = (): void => {
    void stopAll()
      .then(() => lab.close())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const ctx: WorkloadContext = {
    lab,
    sizes,
    subjects: ALL_SUBJECTS.filter((s) => sizes.slowPeers || !s.slow),
    progress: say,
  };
  const results: (WorkloadResult & { readonly busyAtStart: Busy; readonly seconds: number })[] = [];
  try {
    for (const name of opts.workloads) {
      // other work on the machine shows in every figure: say how busy it was
      const busyAtStart = busyNow();
      say(`\n[${name}] ${new Date().toISOString()}, ${formatBusy(busyAtStart)}`);
      const started = performance.now();
      const result = await RUNNERS[name](ctx);
      const seconds = (performance.now() - started) / 1000;
      results.push({ ...result, busyAtStart, seconds });
      say(formatWorkload(result));
      say(`  (${seconds.toFixed(0)} s)`);
    }
  } finally {
    await lab.close();
  }
  say('\nTargets (sersync-ts)');
  for (const t of results.flatMap((r) => r.targets)) say(`  ${formatTarget(t)}`);
  if (opts.jsonFile !== null) {
    writeFileSync(opts.jsonFile, `${JSON.stringify({ environment, quick: opts.quick, results }, null, 2)}\n`);
    say(`figures written to ${opts.jsonFile}`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
