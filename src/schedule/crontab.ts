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

export interface Crontab {
  /** One scheduler tick (node-cron calls it every minute; tests call it with their clock). */
  tick(): void;
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
    last = now();
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
    stop() {
      void task?.stop();
    },
  };
}
