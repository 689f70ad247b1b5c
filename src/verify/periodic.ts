/**
 * `<verify start="true" schedule="MINUTES"/>`: the daemon runs `sersync2 verify` itself every
 * `schedule` minutes, so that drift becomes an alert (`sersync2 status`, /metrics). It only
 * reports; repairing stays the operator's call (`sersync2 verify --repair`).
 */
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { PendingLane } from './pending.js';
import { summarize, type LaneSummary } from './report.js';
import { verifyLane } from './verify.js';

/** The last periodic verify, as `status` and /metrics show it. */
export interface VerifyStatus {
  /** When the last verify ended, or null before the first. */
  readonly lastRunAt: number | null;
  /** When a verify last compared every tree with every remote (drift or not). */
  readonly lastSuccessAt: number | null;
  readonly nextAt: number | null;
  readonly lanes: readonly LaneSummary[];
}

export interface PeriodicVerifyDeps {
  readonly config: Config;
  /** What the lanes have not sent yet (Replicator.outstanding). */
  readonly outstanding: () => readonly PendingLane[];
  readonly log: Logger;
  readonly intervalMs: number;
  readonly recheckMs?: number;
}

export class PeriodicVerify {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Kills the rsync of a verify in progress when the daemon stops. */
  private readonly abort = new AbortController();
  private state: VerifyStatus = { lastRunAt: null, lastSuccessAt: null, nextAt: null, lanes: [] };

  constructor(private readonly deps: PeriodicVerifyDeps) {}

  start(): void {
    this.schedule();
  }

  status(): VerifyStatus {
    return this.state;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.state = { ...this.state, nextAt: Date.now() + this.deps.intervalMs };
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => {
        this.schedule();
      });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const { config, log } = this.deps;
    const lanes: LaneSummary[] = [];
    for (const lp of config.localpaths) {
      for (const remote of lp.remotes) {
        if (this.stopped) return;
        const verdict = await verifyLane(lp.watch, remote, {
          config,
          checksum: false,
          pending: () => Promise.resolve(this.deps.outstanding()),
          recheckMs: this.deps.recheckMs ?? 2000,
          progress: null,
          signal: this.abort.signal,
        });
        lanes.push(summarize(verdict));
      }
    }
    if (this.stopped) return; // cut short: not a result
    const now = Date.now();
    const compared = lanes.every((l) => l.error === null);
    this.state = {
      ...this.state,
      lastRunAt: now,
      lastSuccessAt: compared ? now : this.state.lastSuccessAt,
      lanes,
    };
    for (const l of lanes) {
      const fields = { root: l.root, remote: l.remote, drift: l.drift, pending: l.pending };
      if (l.error !== null)
        log.error({ root: l.root, remote: l.remote, error: l.error }, 'verify: cannot compare');
      else if (!l.equal) log.warn({ ...fields, first: l.first }, 'verify: the replica differs from the tree');
      else log.info(fields, 'verify: the replica equals the tree');
    }
  }
}
