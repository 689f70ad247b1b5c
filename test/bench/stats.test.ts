import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mean, ratio, summarize } from './stats.js';

test('summarize: median of an odd count is the middle sample, whatever the order', () => {
  assert.deepEqual(summarize([9, 1, 5]), { n: 3, median: 5, min: 1, max: 9 });
});

test('summarize: median of an even count is the mean of the middle two', () => {
  assert.deepEqual(summarize([4, 1, 3, 10]), { n: 4, median: 3.5, min: 1, max: 10 });
});

test('summarize: no samples, no summary', () => {
  assert.equal(summarize([]), null);
});

test('ratio: unknown or zero floors give no ratio', () => {
  assert.equal(ratio(30, 10), 3);
  assert.equal(ratio(30, 0), null);
  assert.equal(ratio(null, 10), null);
  assert.equal(ratio(30, undefined), null);
});

test('mean: the arithmetic mean (what the latency target compares), none for no samples', () => {
  assert.equal(mean([6, 8, 52]), 22);
  assert.equal(mean([]), null);
});
