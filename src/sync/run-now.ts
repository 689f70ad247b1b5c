import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { QueueRow, WorkStore } from '../queue/types.js';
import { Lane, type BatchReport } from './lane.js';
import { RsyncPool } from './pool.js';

export interface RunNowResult {
  readonly id: number;
  readonly ok: boolean;
  readonly message: string;
}

/**
 * `sersync2 queue retry --now`: sends queued rows from this process, through the same lanes as
 * the daemon (one batch per tree and remote), recording each outcome in the store.
 */
export async function runQueuedNow(
  config: Config,
  store: WorkStore,
  rows: readonly QueueRow[],
  log: Logger,
): Promise<RunNowResult[]> {
  const pool = new RsyncPool(4);
  try {
    const groups = new Map<string, QueueRow[]>();
    for (const r of rows) {
      const key = `${r.root}\0${r.remoteId}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const results = await Promise.all(
      [...groups.values()].map(async (group) => {
        const first = group[0];
        const remote = config.localpaths
          .find((lp) => lp.watch === first?.root)
          ?.remotes.find((r) => r.id === first?.remoteId);
        if (first === undefined || remote === undefined) {
          return group.map((r) => ({
            id: r.id,
            ok: false,
            message: `${r.root} → ${r.remoteId} is not in the config`,
          }));
        }
        const reports: BatchReport[] = [];
        const lane = new Lane({
          config,
          root: first.root,
          remote,
          pool,
          store,
          log: log.child({ root: first.root, remote: remote.id }),
          settleMs: 0,
          onBatch: (r) => reports.push(r),
        });
        for (const row of group) lane.restore(row.op, row.owesRemoval);
        await lane.idle();
        await lane.stop();
        const failure = reports.find((r) => r.failure !== null)?.failure ?? null;
        return group.map((r) => ({ id: r.id, ok: failure === null, message: failure?.message ?? 'sent' }));
      }),
    );
    return results.flat();
  } finally {
    await pool.close();
  }
}
