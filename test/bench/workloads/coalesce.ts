import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Coalescer } from '../../../src/coalesce/coalescer.js';
import type { WorkloadContext } from '../harness.js';
import { atMost } from '../report.js';
import {
  addSample,
  contenderResult,
  figure,
  OURS,
  type Target,
  type VariantResult,
  type WorkloadResult,
} from '../results.js';

const IN_FLIGHT = [10_000, 30_000] as const;
/**
 * Samples per size, after discarded warm-ups: each takes milliseconds. With one warm-up the 10,000
 * size was still measured partly before the JIT had optimised the coalescer (20 ms, where 12 ms
 * once warm), and the ratio of the two medians swung 2.4–5.2× between runs of the same build
 * (docs/benchmarks.md, the runs of 2026-12-07).
 */
const REPEATS = 9;
const WARM_UPS = 3;
const DIRS = 100;
/** Linear cost: three times the operations, at most this many times the time (quadratic: 9×). */
const SCALING_LIMIT = 4;

/**
 * 8. Coalescing while a batch is in flight, without rsync or a file system: N files of a burst
 * are in flight, and N more are created and written meanwhile (2N changes). The figure is how
 * long the main thread is busy taking them in; it must grow with N, not N².
 */
export function coalesce(ctx: WorkloadContext): Promise<WorkloadResult> {
  const variants: VariantResult[] = IN_FLIGHT.map((n) => {
    ctx.progress(`-- ${n.toLocaleString('en')} operations in flight`);
    const result = contenderResult(OURS);
    for (let w = 0; w < WARM_UPS; w++) applyWhileInFlight(n);
    for (let r = 0; r < REPEATS; r++) addSample(result, 'apply', applyWhileInFlight(n));
    return { label: `${n.toLocaleString('en')} operations in flight`, contenders: [result] };
  });
  return Promise.resolve({
    name: 'coalesce',
    title: '8. Coalescing: N changes in flight, N new files created and written meanwhile (no rsync)',
    metrics: [{ key: 'apply', label: 'main thread busy', unit: 'ms' }],
    variants,
    targets: [scalingTarget(variants)],
    notes: ['the coalescer alone, on the main thread: what a burst costs it before any rsync runs'],
  });
}

/**
 * A full collection before each sample: otherwise the previous samples' coalescers, garbage by
 * then, were collected inside whichever sample the heap filled in, and the 9 samples of one size
 * spread 8–34 ms (a cost of the bench's loop, not of taking changes in).
 */
let gc: (() => void) | null = null;

function collectGarbage(): void {
  if (gc === null) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Milliseconds to take in 2n changes (n created files, each written) while n are in flight. */
function applyWhileInFlight(n: number): number {
  const c = new Coalescer(Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < n; i++) c.apply({ kind: 'sync', path: `old${i % DIRS}/f${i}` });
  c.take();
  collectGarbage();
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const path = `new${i % DIRS}/f${i}`;
    c.apply({ kind: 'new', path });
    c.apply({ kind: 'sync', path });
  }
  return performance.now() - started;
}

function scalingTarget(variants: readonly VariantResult[]): Target {
  const [small, large] = variants.map((v) => figure(v.contenders[0], 'apply')?.median ?? null);
  const ratio =
    small === null || small === undefined || large === null || large === undefined ? null : large / small;
  const t = atMost(
    `coalescing cost, ${IN_FLIGHT[1].toLocaleString('en')} vs ${IN_FLIGHT[0].toLocaleString('en')} in flight`,
    ratio,
    SCALING_LIMIT,
    'times',
  );
  return { ...t, measured: `${t.measured} (${small?.toFixed(1)} ms → ${large?.toFixed(1)} ms)` };
}
