import type { Config } from '../config/types.js';
import { SersyncError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { QueueRow, WorkStore } from '../queue/types.js';

/**
 * `sersync2 queue retry --now`: sends these queued rows in this process, recording each outcome
 * in the store. Stub until the sync engine provides it.
 */
export async function runQueuedNow(
  _config: Config,
  _store: WorkStore,
  _rows: readonly QueueRow[],
  _log: Logger,
): Promise<{ id: number; ok: boolean; message: string }[]> {
  await Promise.resolve();
  throw new SersyncError('ERR_SERSYNC_NOT_BUILT', 'queue retry --now is not available in this build yet');
}
