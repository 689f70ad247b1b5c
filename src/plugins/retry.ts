import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../backoff.js';
import type { Logger } from '../log/logger.js';
import { PluginError } from './errors.js';

/** Bounded retry: `attempts` tries in all, waiting first, 2×first, 4×first … (capped) in between. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/** The wait before try number `n + 1` (n ≥ 1). */
export function backoffDelay(policy: RetryPolicy, n: number): number {
  return backoffMs(n, policy.firstDelayMs, policy.maxDelayMs);
}

/**
 * Runs `attempt` until it succeeds, throws a non-retryable error, or the tries are used up; each
 * retry is logged at warn. Aborting `signal` ends the waiting at once.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  signal: AbortSignal,
  log: Logger,
  what: Readonly<Record<string, unknown>>,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const retryable = err instanceof PluginError && err.retryable && !signal.aborted;
      if (!retryable) throw err;
      if (n >= policy.attempts) {
        throw new PluginError(`${err.message} (gave up after ${n} attempts)`, err.context, false, {
          cause: err,
        });
      }
      const delayMs = backoffDelay(policy, n);
      log.warn(
        { ...what, ...err.context, err: err.message, attempt: n, retryInMs: delayMs },
        'plugin retrying',
      );
      try {
        await sleep(delayMs, undefined, { signal });
      } catch {
        throw new PluginError(`shut down while retrying: ${err.message}`, err.context, false, { cause: err });
      }
    }
  }
}
