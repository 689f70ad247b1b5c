import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRuns } from '../../src/sync/plan.js';
import { testConfig } from '../helpers/config.js';

const remote = { id: '/srv/replica', target: { kind: 'local', path: '/srv/replica' } } as const;

test('plan: a full sync carries the crontab filter only while the crontab is on (sersync: -r sends everything)', () => {
  const rows: [boolean, boolean, boolean][] = [
    // [crontab on, crontabfilter on, excludes carried]
    [false, true, false],
    [false, false, false],
    [true, false, false],
    [true, true, true],
  ];
  for (const [enabled, filterOn, carried] of rows) {
    const config = testConfig([{ watch: '/srv/www', remotes: [remote] }], {
      overrides: {
        crontab: {
          enabled,
          scheduleMinutes: 600,
          cron: null,
          filter: { enabled: filterOn, excludes: ['*.php'] },
        },
      },
    });
    const [run] = planRuns([{ kind: 'full', path: '' }], { config, root: '/srv/www', remote });
    assert.equal(run?.args.includes('--exclude=*.php'), carried, `crontab ${enabled}, filter ${filterOn}`);
  }
});
