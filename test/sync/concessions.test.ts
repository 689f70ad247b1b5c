/** What a full sync goes without when its remote refuses it whole for one option (pure). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Remote } from '../../src/config/types.js';
import { filterSpecOf } from '../../src/filter/path-filter.js';
import { concession } from '../../src/sync/concessions.js';
import { planRuns } from '../../src/sync/plan.js';
import type { RsyncTask } from '../../src/sync/task.js';
import { NANO_WINDOW } from '../../src/sync/time-window.js';
import { testConfig } from '../helpers/config.js';

const remote: Remote = { id: 'h::m', target: { kind: 'daemon', host: 'h', module: 'm' } };

function planned(kind: 'full' | 'send', deletes = true): RsyncTask {
  const config = testConfig([{ watch: '/W', remotes: [remote] }]);
  const op = kind === 'full' ? ({ kind: 'full', path: '' } as const) : ({ kind: 'sync', path: 'a' } as const);
  const [task] = planRuns([op], {
    config: { ...config, inotify: { ...config.inotify, delete: deletes } },
    root: '/W',
    remote,
    filter: filterSpecOf(config, '/W'),
  });
  assert.ok(task !== undefined);
  return task;
}

const refusesDelete = { exitCode: 1, message: 'rsync: The server is configured to refuse --delete' };
const refusesWindow = { exitCode: 1, message: 'rsync: on remote machine: -@-1: unknown option' };

test('a full sync refused for its --delete goes without it, and keeps everything else', () => {
  const full = planned('full');
  assert.ok(full.args.includes('--delete'));
  const c = concession(full, refusesDelete);
  assert.equal(c?.gave, 'removals');
  assert.deepEqual(
    c.task.args,
    full.args.filter((a) => a !== '--delete'),
  );
  // the --delete-… form rsync sends for --delete-after is refused under the same rule
  const after = { ...refusesDelete, message: 'rsync: The server is configured to refuse --delete-after' };
  assert.equal(concession(full, after)?.gave, 'removals');
});

test('a full sync refused for its nanosecond window goes without the window', () => {
  const full = planned('full');
  const c = concession(full, refusesWindow);
  assert.equal(c?.gave, 'nanosecond-window');
  assert.equal(c.task.args.includes(NANO_WINDOW), false);
  assert.ok(c.task.args.includes('--delete'));
});

test('nothing is conceded for other refusals, other runs, or an option the run does not carry', () => {
  const full = planned('full');
  assert.equal(
    concession(full, { exitCode: 1, message: 'rsync: The server is configured to refuse --compress' }),
    null,
  );
  assert.equal(concession(full, { exitCode: 12, message: '@ERROR: auth failed on module m' }), null);
  assert.equal(concession(planned('send'), refusesDelete), null, 'only a full sync concedes');
  assert.equal(concession(planned('full', false), refusesDelete), null, 'no --delete to drop');
});
