import type { WorkloadName } from './options.js';
import { summarize, type Summary } from './stats.js';

export type Unit = 'ms' | 's' | 'count' | 'bytes' | 'percent' | 'times';

/** One figure a workload measures for every contender. */
export interface Metric {
  readonly key: string;
  readonly label: string;
  readonly unit: Unit;
  /** Printed with its ratio to the floor's figure. */
  readonly vsFloor?: boolean;
}

/** What one contender (the floor or a replicator) did in one variant of a workload. */
export interface ContenderResult {
  readonly name: string;
  /** The floor: the same change carried by bare rsync, what every ratio divides by. */
  readonly floor: boolean;
  /** Why it did not run (not installed, not meaningful here), or null. */
  readonly skipped: string | null;
  /** Samples per metric key, one per repeat that produced the figure. */
  readonly samples: Record<string, number[]>;
  /** Repeats that did not finish (no convergence within the time limit, a crash): each makes a target MISS. */
  readonly failures: string[];
  readonly notes: string[];
}

export interface VariantResult {
  readonly label: string;
  readonly contenders: ContenderResult[];
}

/** A target for sersync-ts, judged plainly: PASS or MISS, never hidden. */
export interface Target {
  readonly what: string;
  readonly measured: string;
  readonly limit: string;
  readonly pass: boolean;
}

export interface WorkloadResult {
  readonly name: WorkloadName;
  readonly title: string;
  readonly metrics: readonly Metric[];
  readonly variants: readonly VariantResult[];
  readonly targets: readonly Target[];
  readonly notes: readonly string[];
}

export function contenderResult(name: string, floor = false): ContenderResult {
  return { name, floor, skipped: null, samples: {}, failures: [], notes: [] };
}

export function skippedResult(name: string, why: string): ContenderResult {
  return { ...contenderResult(name), skipped: why };
}

export function addSample(r: ContenderResult, key: string, value: number): void {
  (r.samples[key] ??= []).push(value);
}

/** The summary of one metric of one contender, or null when it has no samples. */
export function figure(r: ContenderResult | undefined, key: string): Summary | null {
  return r === undefined ? null : summarize(r.samples[key] ?? []);
}

export function find(contenders: readonly ContenderResult[], name: string): ContenderResult | undefined {
  return contenders.find((c) => c.name === name);
}

/** The name sersync-ts runs under: the contender every target is about. */
export const OURS = 'sersync-ts';

/** A figure of sersync-ts for a target; null when a repeat failed or nothing was measured. */
export function ourFigure(
  contenders: readonly ContenderResult[],
  key: string,
  which: 'median' | 'max',
): number | null {
  const ours = find(contenders, OURS);
  if (ours === undefined || ours.failures.length > 0) return null;
  return figure(ours, key)?.[which] ?? null;
}
