import type { Lab } from '../lab.js';
import { addSample, type ContenderResult } from '../results.js';

/** Records that repeat `r` did not converge; the contender's remaining repeats are skipped. */
export function convergenceFailure(result: ContenderResult, r: number, timeoutMs: number): void {
  result.failures.push(`repeat ${r + 1}: the replica did not equal the source within ${timeoutMs / 1000} s`);
}

/**
 * Records what reached the daemon since the mark: rsync runs at once (a replicator may go on
 * running rsync after converging), bytes once those runs have logged their summaries.
 */
export async function recordActivity(
  lab: Lab,
  result: ContenderResult,
): Promise<{ runs: number; bytes: number; received: readonly string[] }> {
  const runs = lab.log.activity().sessions;
  const settled = await lab.log.settled();
  addSample(result, 'runs', runs);
  addSample(result, 'bytes', settled.bytesReceived);
  return { runs, bytes: settled.bytesReceived, received: settled.received };
}
