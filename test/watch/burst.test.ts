/**
 * Bursts into directories that did not exist a moment before: every file must be reported or
 * covered by the create of a directory announced after it was watched (helpers.ts `uncovered`).
 * Ten runs in a row per burst, against both backends.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { burstPlan, type Burst } from './burst-plan.js';
import { BACKENDS, Coverage, needs, rel, withWatcher } from './helpers.js';

const RUNS = 10;
const WRITER = fileURLToPath(new URL('./burst-writer.js', import.meta.url));

const BURSTS: Record<Burst, string> = {
  newdir: '10,000 files written into a freshly created directory',
  tree: '100 new directories x 100 files',
};

for (const backend of BACKENDS) {
  describe(`bursts into new directories (${backend})`, () => {
    for (const [burst, title] of Object.entries(BURSTS) as [Burst, string][]) {
      test(`${title}: nothing lost, ${RUNS} runs`, needs(backend, 'newDirRace'), () =>
        withWatcher(
          backend,
          async ({ root, log, watcher }) => {
            for (let run = 0; run < RUNS; run++) {
              // Each run writes below its own, already watched, base directory.
              const base = `run${run}`;
              mkdirSync(`${root}/${base}`);
              await log.waitFor({ type: 'create', path: base, isDir: true });
              const files = burstPlan(burst).flatMap((g) => g.files.map((f) => rel(`${base}/${f}`)));
              const coverage = new Coverage(files, log.events.length);
              const child = spawn(process.execPath, [WRITER, `${root}/${base}`, burst], { stdio: 'inherit' });
              const [code] = (await once(child, 'exit')) as [number | null];
              assert.equal(code, 0, 'the writer failed');
              // A deadline, not a delay: generous, for a machine shared with other work.
              await log.until(
                (evs) => coverage.uncovered(evs) === 0,
                () =>
                  `run ${run}: every file reported or covered, but ${coverage.uncovered(log.events)} are not ` +
                  `(${coverage.sample().join(', ')}); ${watcher.watchedDirectories()} directories watched`,
                20_000,
              );
            }
            assert.deepEqual(log.errors, []);
          },
          { inMemory: true },
        ),
      );
    }
  });
}
