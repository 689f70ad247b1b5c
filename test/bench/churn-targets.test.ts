import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTarget } from './report.js';
import { contenderResult, skippedResult, type ContenderResult } from './results.js';
import { churnTargets } from './workloads/churn.js';

function withSamples(c: ContenderResult, samples: Record<string, number[]>): ContenderResult {
  return { ...c, samples };
}

const floor = withSamples(contenderResult('floor: one rsync -a --delete of the tree at the end', true), {
  converge: [600],
});
const lsyncd = withSamples(contenderResult('lsyncd delay=0'), { converge: [1800], cpuOwn: [50] });

test('churn targets: the ratios to the floor and to lsyncd, judged against 1.5× and ¼', () => {
  const fast = withSamples(contenderResult('sersync-ts'), { converge: [750], cpuOwn: [10] });
  assert.deepEqual(churnTargets([floor, fast, lsyncd]).map(formatTarget), [
    'PASS  churn converged after the last operation, × the floor (median): 1.25× (target ≤ 1.50×)',
    "PASS  churn: replicator CPU, × lsyncd delay=0's (median): 0.20× (target ≤ 0.25×)",
  ]);
  const slow = withSamples(contenderResult('sersync-ts'), { converge: [1000], cpuOwn: [15] });
  assert.deepEqual(
    churnTargets([floor, slow, lsyncd]).map((t) => [t.measured, t.pass]),
    [
      ['1.67×', false],
      ['0.30×', false],
    ],
  );
});

test('churn targets: without lsyncd, or with a failed run, the target is a MISS that says so', () => {
  const ours = withSamples(contenderResult('sersync-ts'), { converge: [750], cpuOwn: [10] });
  const cpu = churnTargets([floor, ours, skippedResult('lsyncd delay=0', 'lsyncd is not installed')])[1];
  assert.ok(cpu !== undefined);
  assert.deepEqual([cpu.pass, cpu.measured], [false, 'not measured (lsyncd delay=0 did not run)']);
  const failed = { ...ours, failures: ['did not converge'] };
  assert.equal(churnTargets([floor, failed, lsyncd])[0]?.pass, false);
});
