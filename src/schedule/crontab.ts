import { createTask, type ScheduledTask } from 'node-cron';
import type { CrontabSettings } from '../config/types.js';
import type { Logger } from '../log/logger.js';

/**
 * sersync's `<crontab schedule="N">` means "a full sync every N minutes since the last one",
 * which no cron expression can say (`*\/600` would silently mean hourly). So node-cron ticks
 * every minute and this decides; the clock is injected so tests need not wait a minute.
 */
export function isFullSyncDue(lastMs: number, nowMs: number, scheduleMinutes: number): boolean {
  return nowMs - lastMs >= scheduleMinutes * 60_000;
}

/** When a `schedule`-minutes crontab runs next: on the first minute tick at or after the due time. */
export function nextScheduledRun(lastMs: number, scheduleMinutes: number): number {
  return Math.ceil((lastMs + scheduleMinutes * 60_000) / 60_000) * 60_000;
}

/** How late after its minute node-cron may deliver a tick (it fires a few ms after :00). */
const TICK_JITTER_MS = 5_000;

/**
 * The time a full sync counts from: the minute a tick stands for, when it ran just after one.
 * Counting from the late instant instead would put the next tick a few ms short of a whole
 * interval, and schedule="1" would run every two minutes.
 */
export function runStartedAt(nowMs: number): number {
  const minute = Math.round(nowMs / 60_000) * 60_000;
  return Math.abs(nowMs - minute) < TICK_JITTER_MS ? minute : nowMs;
}

export interface Crontab {
  /** One scheduler tick (node-cron calls it every minute; tests call it with their clock). */
  tick(): void;
  /** Epoch ms of the next full sync, for status; null when not known (a cron expression not started). */
  nextRunAt(): number | null;
  stop(): void;
}

/**
 * Runs `fullSync` on the crontab's schedule: every `scheduleMinutes` since the last run, or on
 * the extension `cron` expression. Returns null when the crontab is off.
 */
export function startCrontab(
  settings: CrontabSettings,
  fullSync: () => void,
  log: Logger,
  now: () => number = Date.now,
  autoStart = true,
): Crontab | null {
  if (!settings.enabled) return null;
  let last = now();
  const run = (): void => {
    last = runStartedAt(now());
    log.info({ schedule: settings.cron ?? `every ${settings.scheduleMinutes} min` }, 'crontab: full sync');
    fullSync();
  };
  const tick =
    settings.cron === null
      ? () => {
          if (isFullSyncDue(last, now(), settings.scheduleMinutes)) run();
        }
      : run;
  let task: ScheduledTask | null = null;
  if (autoStart) {
    task = createTask(settings.cron ?? '* * * * *', tick, { name: 'sersync-crontab', noOverlap: true });
    void task.start();
  }
  return {
    tick,
    nextRunAt: () =>
      settings.cron === null
        ? nextScheduledRun(last, settings.scheduleMinutes)
        : (task?.getNextRun()?.getTime() ?? null),
    stop() {
      void task?.stop();
    },
  };
}
