/** Median, min and max of a set of samples. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Null for no samples. The median of an even count is the mean of the middle two. */
export function summarize(samples: readonly number[]): Summary | null {
  if (samples.length === 0) return null;
  const s = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
  return { n: s.length, median, min: s[0] ?? 0, max: s[s.length - 1] ?? 0 };
}

/** The arithmetic mean; null for no samples. */
export function mean(samples: readonly number[]): number | null {
  return samples.length === 0 ? null : samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** How many times the floor a value is; null when either is unknown or the floor is zero. */
export function ratio(value: number | null | undefined, floor: number | null | undefined): number | null {
  if (value === null || value === undefined || floor === null || floor === undefined || floor === 0)
    return null;
  return value / floor;
}
