import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from '../log/logger.js';
import { describeError, PluginError } from './errors.js';
import { PluginCounters, type PluginStats } from './stats.js';

export interface RunnerOptions {
  /** How many events may be worked on at once (1 keeps the events' order). */
  readonly concurrency: number;
  /** How long `close()` lets in-flight work finish before aborting it. */
  readonly closeGraceMs: number;
  /** Log level of a failed event (the command plugin's `ignoreError` lowers it to info). */
  readonly failureLevel: 'error' | 'info';
}

/**
 * The edge every plugin's per-event work runs through: bounded concurrency, one log line per
 * failure (so `handle` never rejects) and its count for status, and a shutdown that waits, then
 * aborts what is left.
 */
export class PluginRunner {
  private readonly limit: LimitFunction;
  private readonly inflight = new Set<Promise<void>>();
  private readonly shutdown = new AbortController();
  private closing = false;
  private readonly counters: PluginCounters;

  constructor(
    private readonly log: Logger,
    private readonly opts: RunnerOptions,
  ) {
    this.limit = pLimit(opts.concurrency);
    // The command plugin's ignoreError: a failing command is expected there.
    this.counters = new PluginCounters(opts.failureLevel === 'info');
  }

  stats(): PluginStats {
    return this.counters.snapshot();
  }

  /** Runs `task` when a slot is free; resolves when it finished or failed (and was logged). */
  run(what: Readonly<Record<string, unknown>>, task: (signal: AbortSignal) => Promise<void>): Promise<void> {
    if (this.closing) {
      this.counters.dropped('plugin is closing: event dropped');
      this.log.warn(what, 'plugin is closing: event dropped');
      return Promise.resolve();
    }
    const done: Promise<void> = this.limit(async () => {
      if (this.shutdown.signal.aborted) throw new PluginError('plugin shut down before this event ran');
      await task(this.shutdown.signal);
      this.counters.succeeded();
    })
      .catch((err: unknown) => {
        this.report(err, what);
      })
      .finally(() => this.inflight.delete(done));
    this.inflight.add(done);
    return done;
  }

  /** Refuses new work, waits for in-flight work up to the grace period, then aborts the rest. */
  async close(): Promise<void> {
    this.closing = true;
    const timer = setTimeout(() => {
      this.shutdown.abort();
    }, this.opts.closeGraceMs);
    await Promise.all(this.inflight);
    clearTimeout(timer);
    this.shutdown.abort();
  }

  private report(err: unknown, what: Readonly<Record<string, unknown>>): void {
    this.counters.failedWith(describeError(err));
    if (err instanceof PluginError) {
      this.log[this.opts.failureLevel]({ ...what, ...err.context, err: err.message }, 'plugin failed');
    } else {
      // Not a failure we anticipated: always an error, with the stack.
      this.log.error({ ...what, err }, 'plugin failed unexpectedly');
    }
  }
}
