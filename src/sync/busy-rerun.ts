import { setTimeout as delay } from 'node:timers/promises';
import { busyLimit, busyRerunWaitMs, type RunEnd } from './exit-codes.js';
import type { RsyncResult } from './task.js';

/**
 * Runs `once`, and again while the remote's daemon refuses it as busy, after the waits
 * `busyRerunWaitMs` gives and while `goOn()` holds: the engine's runs and `verify`'s comparisons
 * alike. Returns the last run's result and, when there were any, the refusals before it.
 */
export async function rerunWhileBusy<R extends RunEnd>(
  once: () => Promise<R>,
  goOn: () => boolean,
): Promise<{ readonly last: R; readonly busy: RsyncResult['busy'] }> {
  let busy: RsyncResult['busy'];
  for (let refusals = 1; ; refusals++) {
    const last = await once();
    const limit = busyLimit(last);
    const wait = limit === null || !goOn() ? null : busyRerunWaitMs(refusals);
    if (limit === null || wait === null) return { last, busy };
    busy = { refusals, limit };
    await delay(wait);
  }
}
