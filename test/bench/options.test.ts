import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BenchUsage, parseBenchArgs, WORKLOADS } from './options.js';

test('no flags: every workload, full size, no JSON', () => {
  assert.deepEqual(parseBenchArgs([]), { quick: false, workloads: WORKLOADS, jsonFile: null });
});

test('--quick alone runs the small versions of latency, burst and edits', () => {
  assert.deepEqual(parseBenchArgs(['--quick']).workloads, ['latency', 'burst', 'edits', 'coalesce']);
});

test('--only picks workloads (repeated or comma-separated), in the bench order', () => {
  assert.deepEqual(parseBenchArgs(['--only', 'churn,latency', '--only', 'rename']).workloads, [
    'latency',
    'rename',
    'churn',
  ]);
  assert.deepEqual(parseBenchArgs(['--quick', '--only', 'scale']), {
    quick: true,
    workloads: ['scale'],
    jsonFile: null,
  });
});

test('--json names the output file', () => {
  assert.equal(parseBenchArgs(['--json', '/tmp/figures.json']).jsonFile, '/tmp/figures.json');
});

test('an unknown workload or flag is refused', () => {
  assert.throws(() => parseBenchArgs(['--only', 'latncy']), BenchUsage);
  assert.throws(() => parseBenchArgs(['--fast']), /Unknown option/);
});
