/** What a plugin has done since it started: for `sersync2 status` and /metrics. */
export interface PluginStats {
  /** Events delivered: the command ran, the peer or server took the path. */
  readonly delivered: number;
  /** Events given up on after the plugin's own retries, or dropped. */
  readonly failed: number;
  /**
   * Events the plugin accepted and has not delivered yet although `handle` returned (the
   * line-framed socket's queue while its peer is away); 0 for plugins whose `handle` waits.
   */
  readonly backlog: number;
  readonly lastSuccessAt: number | null;
  readonly lastFailureAt: number | null;
  readonly lastError: string | null;
  /** Failing now: its last attempt failed (and its failures are not ignored), or its peer is away. */
  readonly failing: boolean;
}

/** The counting behind PluginStats, shared by every plugin's edge. */
export class PluginCounters {
  private delivered = 0;
  private failed = 0;
  private lastSuccessAt: number | null = null;
  private lastFailureAt: number | null = null;
  private lastError: string | null = null;
  private lastFailed = false;

  /**
   * `ignored`: failures are expected (the command plugin's `ignoreError`), so they are counted
   * but never make the plugin failing.
   */
  constructor(private readonly ignored = false) {}

  succeeded(events = 1): void {
    this.delivered += events;
    this.lastSuccessAt = Date.now();
    this.lastFailed = false;
  }

  /** `events`: how many were lost with it (0: a failed attempt that loses nothing yet). */
  failedWith(message: string, events = 1): void {
    this.dropped(message, events);
    this.lastFailed = true;
  }

  /**
   * Events lost without an attempt (handed to a plugin that is closing): counted as failed, but
   * they say nothing of whether the plugin works, so failing stays as it was.
   */
  dropped(message: string, events = 1): void {
    this.failed += events;
    this.lastFailureAt = Date.now();
    this.lastError = message;
  }

  /**
   * `failingNow`: what the plugin knows of its state (a peer unreachable); without it, failing is
   * whether the last attempt failed.
   */
  snapshot(backlog = 0, failingNow?: boolean): PluginStats {
    return {
      delivered: this.delivered,
      failed: this.failed,
      backlog,
      lastSuccessAt: this.lastSuccessAt,
      lastFailureAt: this.lastFailureAt,
      lastError: this.lastError,
      failing: failingNow ?? (this.lastFailed && !this.ignored),
    };
  }
}
