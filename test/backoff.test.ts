import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs } from '../src/backoff.js';

test('backoff: the first wait, doubling with each failure in a row, up to the cap', () => {
  const table: [n: number, first: number, cap: number, wait: number][] = [
    [1, 5_000, 60_000, 5_000],
    [2, 5_000, 60_000, 10_000],
    [4, 5_000, 60_000, 40_000],
    [5, 5_000, 60_000, 60_000],
    [1_000, 5_000, 60_000, 60_000], // finite however long the run of failures
    [0, 1_000, 30_000, 1_000], // no failure counted yet: the first wait
    [3, 40, 30_000, 160],
  ];
  for (const [n, first, cap, wait] of table) assert.equal(backoffMs(n, first, cap), wait, `n=${n}`);
});
