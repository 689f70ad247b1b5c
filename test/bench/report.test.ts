import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atMost, formatTable, formatTarget, formatValue, formatWorkload } from './report.js';
import { contenderResult, skippedResult } from './results.js';

test('atMost: PASS at or under the limit, MISS over it', () => {
  assert.equal(atMost('x', 10, 10, 'ms').pass, true);
  assert.equal(atMost('x', 10.1, 10, 'ms').pass, false);
});

test('atMost: a figure that was not measured is a MISS that says why', () => {
  const t = atMost('burst', null, 300, 'ms', 'did not converge');
  assert.equal(t.pass, false);
  assert.equal(formatTarget(t), 'MISS  burst: did not converge (target ≤ 300 ms)');
});

test('formatValue: binary byte units, ms with a decimal under 100', () => {
  assert.equal(formatValue(512, 'bytes'), '512 B');
  assert.equal(formatValue(10 * 1024 * 1024, 'bytes'), '10.0 MiB');
  assert.equal(formatValue(1024 ** 3, 'bytes'), '1.00 GiB');
  assert.equal(formatValue(7.25, 'ms'), '7.3 ms');
  assert.equal(formatValue(1234.4, 'ms'), '1234 ms');
});

test('formatTable: columns line up on the widest cell', () => {
  assert.equal(
    formatTable(
      [
        ['a', 'bb', 'c'],
        ['aaa', 'b', 'c'],
      ],
      '',
    ),
    'a    bb  c\naaa  b   c',
  );
});

test('formatWorkload: median [min – max], the ratio to the floor, skipped and failed contenders', () => {
  const text = formatWorkload({
    name: 'burst',
    title: 'Burst',
    metrics: [
      { key: 't', label: 'converged', unit: 'ms', vsFloor: true },
      { key: 'b', label: 'bytes', unit: 'bytes' },
    ],
    variants: [
      {
        label: '',
        contenders: [
          { ...contenderResult('floor: rsync', true), samples: { t: [200], b: [2048] } },
          { ...contenderResult('sersync-ts'), samples: { t: [100, 300, 150], b: [2048, 2049] } },
          { ...contenderResult('lsyncd'), failures: ['repeat 1: did not converge'] },
          skippedResult('loop', 'not installed'),
        ],
      },
    ],
    targets: [],
    notes: [],
  });
  const lines = text.split('\n');
  assert.equal(lines[0], '== Burst ==');
  assert.match(
    lines.find((l) => l.includes('sersync-ts')) ?? '',
    /150 ms \[100 ms – 300 ms\] +0\.75× +2\.00 KiB$/,
  );
  assert.match(lines.find((l) => l.includes('floor: rsync')) ?? '', /200 ms +1\.00× +2\.00 KiB$/);
  assert.ok(lines.includes('  lsyncd: ! repeat 1: did not converge'));
  assert.ok(lines.includes('  loop: skipped (not installed)'));
});
