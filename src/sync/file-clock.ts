import { loadInotifyBinding } from '../watch/native.js';

/** The coarse clock's tick is at most this (CONFIG_HZ ≥ 100): without the binding, now minus it bounds it. */
const MAX_TICK_NS = 10_000_000n;

/**
 * The clock the kernel stamps files with, in ns (CLOCK_REALTIME_COARSE, read by the native
 * binding); without the binding, a value it is never below. A file whose ctime is below it cannot be
 * changed again and keep it (any change sets the ctime to this clock), so its signature shows any
 * later write.
 */
export function fileClockNs(): bigint {
  const load = loadInotifyBinding();
  return load.ok ? load.binding.fileClock() : BigInt(Date.now()) * 1_000_000n - MAX_TICK_NS;
}

/** Resolves once the file clock has passed `ns` (within a tick of a change made now), or after `maxMs`. */
export async function fileClockPast(ns: bigint, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  while (fileClockNs() <= ns && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
