import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterSpecOf } from '../../src/filter/path-filter.js';
import { moveWaves, planMove, planRuns } from '../../src/sync/plan.js';
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
    const [run] = planRuns([{ kind: 'full', path: '' }], {
      config,
      root: '/srv/www',
      remote,
      filter: filterSpecOf(config, '/srv/www'),
    });
    assert.equal(run?.args.includes('--exclude=*.php'), carried, `crontab ${enabled}, filter ${filterOn}`);
  }
});

test("plan: every run of a batch carries the root's identity, so that the worker checks it", () => {
  const config = testConfig([{ watch: '/srv/www', remotes: [remote] }]);
  const rootId = { dev: 2049, ino: 131, uid: 0 };
  const ctx = { config, root: '/srv/www', remote, rootId, filter: filterSpecOf(config, '/srv/www') };
  const runs = [
    ...planRuns([{ kind: 'full', path: '' }], ctx),
    ...planRuns(
      [
        { kind: 'delete', path: 'gone', isDir: false },
        { kind: 'sync', path: 'f' },
      ],
      ctx,
    ),
  ];
  const move = planMove({ kind: 'move', path: 'b', from: 'a' }, ctx);
  assert.deepEqual(
    [...runs, move].map((r) => [r?.kind, r?.rootId]),
    [
      ['full', rootId],
      ['delete', rootId],
      ['send', rootId],
      ['move', rootId],
    ],
  );
});

test('plan: renames of unrelated directories share a wave; one touching an earlier one waits for it', () => {
  const move = (from: string, path: string) => ({ kind: 'move' as const, from, path });
  const names = (waves: ReturnType<typeof moveWaves>): string[][] => waves.map((w) => w.map((m) => m.path));
  assert.deepEqual(names(moveWaves([])), []);
  assert.deepEqual(names(moveWaves([move('a', 'b'), move('c', 'd'), move('e/f', 'g')])), [['b', 'd', 'g']]);
  // into the directory an earlier rename made; out of one an earlier rename emptied; the same name
  assert.deepEqual(names(moveWaves([move('a', 'b'), move('c', 'b/c')])), [['b'], ['b/c']]);
  assert.deepEqual(names(moveWaves([move('a', 'b'), move('a/x', 'y')])), [['b'], ['y']]);
  assert.deepEqual(names(moveWaves([move('a', 'b'), move('b', 'c')])), [['b'], ['c']]);
  // a later wave starts only where one touches the last wave: order holds for every pair that touches
  assert.deepEqual(names(moveWaves([move('a', 'b'), move('p', 'b/q'), move('x', 'y')])), [
    ['b'],
    ['b/q', 'y'],
  ]);
});

test('plan: trees that prune get one run of the removal form that only removes (its own kind), after the removals and before the sends; none with <delete> off', () => {
  const config = testConfig([{ watch: '/srv/www', remotes: [remote] }]);
  const ctx = { config, root: '/srv/www', remote, filter: filterSpecOf(config, '/srv/www') };
  const runs = planRuns(
    [
      { kind: 'delete', path: 'gone', isDir: false },
      { kind: 'tree', path: 'new/a', prune: true },
      { kind: 'tree', path: 'new/b', prune: true },
      { kind: 'tree', path: 'plain' },
    ],
    ctx,
  );
  assert.deepEqual(
    runs.map((r) => [r.kind, r.args.includes('--existing') && r.args.includes('--ignore-existing')]),
    [
      ['delete', false],
      ['prune', true],
      ['send', false],
    ],
  );
  assert.deepEqual(runs[1]?.input, {
    kind: 'rules',
    rules: ['/new/', '/new/a', '/new/a/***', '/new/b', '/new/b/***'],
  });
  assert.deepEqual(runs[2]?.input?.kind === 'files' ? runs[2].input.trees : null, [
    'new/a',
    'new/b',
    'plain',
  ]);
  const off = testConfig([{ watch: '/srv/www', remotes: [remote] }], {
    overrides: { inotify: { ...config.inotify, delete: false } },
  });
  const noDelete = planRuns([{ kind: 'tree', path: 'new/a', prune: true }], { ...ctx, config: off });
  assert.deepEqual(
    noDelete.map((r) => r.kind),
    ['send'],
  );
});
