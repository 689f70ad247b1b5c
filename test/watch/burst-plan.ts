/** The bursts burst.test.ts asks burst-writer.ts to write: new directories, each filled at once. */
export type Burst = 'newdir' | 'tree';

export interface BurstGroup {
  /** A directory to create, relative to the burst's base directory. */
  readonly dir: string;
  /** Files to write into it right after, relative to the base directory. */
  readonly files: readonly string[];
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** newdir: one new directory with 10,000 files; tree: 100 new directories with 100 files each. */
export function burstPlan(burst: Burst): BurstGroup[] {
  const group = (dir: string, count: number): BurstGroup => ({
    dir,
    files: Array.from({ length: count }, (_, i) => `${dir}/f${pad(i, 5)}`),
  });
  return burst === 'newdir'
    ? [group('new', 10_000)]
    : Array.from({ length: 100 }, (_, d) => group(`d${pad(d, 3)}`, 100));
}
