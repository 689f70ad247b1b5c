import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CrontabSettings } from '../../src/config/types.js';
import { silentLogger } from '../../src/log/logger.js';
import { isFullSyncDue, startCrontab } from '../../src/schedule/crontab.js';

const every1: CrontabSettings = {
  enabled: true,
  scheduleMinutes: 1,
  cron: null,
  filter: { enabled: true, excludes: ['*.php', 'info/*'] },
};

test('crontab: "schedule" is minutes since the last full sync, not a cron step', () => {
  assert.equal(isFullSyncDue(0, 59_999, 1), false);
  assert.equal(isFullSyncDue(0, 60_000, 1), true);
  assert.equal(isFullSyncDue(0, 599 * 60_000, 600), false);
  assert.equal(isFullSyncDue(0, 600 * 60_000, 600), true);
});

test('crontab: schedule="1" runs a full sync once a minute has passed, then waits again', () => {
  let clock = 1_000_000;
  let runs = 0;
  const cron = startCrontab(
    every1,
    () => runs++,
    silentLogger,
    () => clock,
    false,
  );
  assert.ok(cron !== null);
  clock += 59_000;
  cron.tick();
  assert.equal(runs, 0);
  clock += 1_000;
  cron.tick();
  assert.equal(runs, 1);
  clock += 30_000;
  cron.tick();
  assert.equal(runs, 1, 'the clock restarts after each full sync');
  clock += 30_000;
  cron.tick();
  assert.equal(runs, 2);
});

test('crontab: a cron expression runs on every tick node-cron delivers', () => {
  let runs = 0;
  const cron = startCrontab({ ...every1, cron: '0 3 * * *' }, () => runs++, silentLogger, Date.now, false);
  cron?.tick();
  cron?.tick();
  assert.equal(runs, 2);
});

test('crontab: off means no scheduler', () => {
  assert.equal(
    startCrontab({ ...every1, enabled: false }, () => undefined, silentLogger),
    null,
  );
});

test('crontab: the next full sync is the first minute tick after the schedule has run out', () => {
  const minute = 60_000;
  let clock = 100 * minute + 12_345;
  const cron = startCrontab(
    every1,
    () => undefined,
    silentLogger,
    () => clock,
    false,
  );
  assert.ok(cron !== null);
  assert.equal(
    cron.nextRunAt(),
    102 * minute,
    'one minute after 100:12.345 is due at 101:12.345, run at 102:00',
  );
  clock = 102 * minute;
  cron.tick();
  assert.equal(cron.nextRunAt(), 103 * minute, 'counted again from the run');
});

test('crontab: with a cron expression the next run is what node-cron will fire', () => {
  const cron = startCrontab({ ...every1, cron: '0 3 * * *' }, () => undefined, silentLogger);
  try {
    const next = cron?.nextRunAt() ?? null;
    assert.ok(next !== null && next > Date.now());
    const d = new Date(next);
    assert.deepEqual([d.getHours(), d.getMinutes(), d.getSeconds()], [3, 0, 0]);
  } finally {
    cron?.stop();
  }
});

test('crontab: schedule="1" with ticks delivered a few ms after each minute runs every minute', () => {
  const minute = 60_000;
  let clock = 100 * minute + 30_000;
  const runsAt: number[] = [];
  const record = (): void => {
    runsAt.push(Math.floor(clock / minute));
  };
  const cron = startCrontab(every1, record, silentLogger, () => clock, false);
  assert.ok(cron !== null);
  // node-cron's delay after the minute varies from tick to tick.
  [4, 9, 3, 8, 2].forEach((delay, i) => {
    clock = (101 + i) * minute + delay;
    cron.tick();
  });
  assert.deepEqual(runsAt, [102, 103, 104, 105], 'first one minute after the start, then at every tick');
});
