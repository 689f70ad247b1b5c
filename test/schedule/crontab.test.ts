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
