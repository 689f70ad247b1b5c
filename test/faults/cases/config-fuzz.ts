import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { CaseResult } from './result.js';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
/** The shipped configs the mutations start from. */
export const FUZZ_BASES = [
  join(ROOT, 'confxml.xml'),
  join(ROOT, 'test', 'fixtures', 'sersync-2.5.4-confxml.xml'),
];
const FUZZ = join(import.meta.dirname, '..', 'lib', 'fuzz-config.js');

/**
 * `count` seeded mutations of the shipped configs through the loader, in a child process so that
 * a hang is caught (and named by the last variant it started): each loads or fails with a
 * positioned ConfigError. Returns how many loaded and how many were refused.
 */
export function fuzzConfigs(seed: number, count: number): CaseResult & { loaded: number; refused: number } {
  const r = spawnSync(process.execPath, [FUZZ, String(seed), String(count), ...FUZZ_BASES], {
    encoding: 'utf8',
    timeout: 60_000 + count * 20,
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  const last = lines.filter((l) => l.startsWith('at ')).at(-1);
  assert.equal(r.signal, null, `the loader hung or died (seed ${seed}, variant ${String(last)})`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    lines.filter((l) => l.startsWith('{')),
    [],
    `seed ${seed}`,
  );
  const done = /^done (.*)$/.exec(lines.at(-1) ?? '')?.[1];
  assert.ok(done !== undefined, 'the fuzz did not finish');
  const outcomes = JSON.parse(done) as { loaded: number; refused: number };
  assert.equal(outcomes.loaded + outcomes.refused, count);
  return { faults: count, files: 0, lost: 0, ...outcomes };
}
