import { backoffMs } from '../backoff.js';
import { describeExit } from '../sync/exit-codes.js';
import type { Failure } from './types.js';

/** The first retry waits this long; each further failure doubles the wait. */
export const FIRST_RETRY_DELAY_MS = 5_000;

/**
 * How long a row waits after its `attempts`-th failure: 5 s, 10 s, 20 s, … doubling up to
 * `failLog timeToExecute` minutes, which was sersync's retry period. There is no last attempt:
 * a row waits at the cap until it succeeds or an operator drops it. A failure to start rsync here
 * (`ExitMeaning.notStarted`: not installed, the host out of descriptors or processes) asks nothing
 * of the remote: it is tried again every FIRST_RETRY_DELAY_MS, so the row goes soon after rsync can
 * start, not up to `timeToExecute` minutes later.
 */
export function retryDelayMs(attempts: number, maxIntervalMinutes: number, failure?: Failure): number {
  if (failure !== undefined && describeExit(failure.exitCode).notStarted === true)
    return FIRST_RETRY_DELAY_MS;
  return backoffMs(attempts, FIRST_RETRY_DELAY_MS, longestRetryDelayMs(maxIntervalMinutes));
}

/**
 * The longest a row ever waits. One due later than that was scheduled by a clock set back since
 * (an NTP step, an RTC kept in local time): it is due now, not when the wall clock catches up.
 */
export function longestRetryDelayMs(maxIntervalMinutes: number): number {
  return Math.max(FIRST_RETRY_DELAY_MS, maxIntervalMinutes * 60_000);
}

/**
 * sersync retried a failed command once at once and wrote it to its fail log when that retry
 * failed too: a row belongs in the fail log from its second failure on.
 */
export const FAIL_LOG_MIN_ATTEMPTS = 2;
