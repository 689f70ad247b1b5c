import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rerunWhileBusy } from '../../src/sync/busy-rerun.js';

const BUSY = {
  exitCode: 5,
  stderr:
    '@ERROR: max connections (2) reached -- try again later\nrsync error: error starting client-server protocol (code 5) at main.c(1863)',
};
const OK = { exitCode: 0, stderr: '' };

/** A run that the daemon refuses `refusals` times, then lets through. */
function refusedThen(refusals: number, last = OK): { once: () => Promise<typeof OK>; runs: () => number } {
  let runs = 0;
  return {
    once: () => Promise.resolve(runs++ < refusals ? BUSY : last),
    runs: () => runs,
  };
}

test('busy re-run: a run the daemon refused goes again until it goes through, and says how often it was refused', async () => {
  const r = refusedThen(2);
  const { last, busy } = await rerunWhileBusy(r.once, () => true);
  assert.deepEqual(last, OK);
  assert.deepEqual(busy, { refusals: 2, limit: 2 });
  assert.equal(r.runs(), 3);
});

test('busy re-run: a run not refused runs once and reports no refusal; another failure is not run again', async () => {
  for (const result of [OK, { exitCode: 5, stderr: '@ERROR: auth failed on module m1' }]) {
    const r = refusedThen(0, result);
    const { last, busy } = await rerunWhileBusy(r.once, () => true);
    assert.deepEqual(last, result);
    assert.equal(busy, undefined);
    assert.equal(r.runs(), 1);
  }
});

test('busy re-run: nothing goes again once the caller stops (the retry queue keeps it)', async () => {
  const r = refusedThen(5);
  const { last, busy } = await rerunWhileBusy(r.once, () => false);
  assert.deepEqual(last, BUSY);
  assert.equal(busy, undefined);
  assert.equal(r.runs(), 1);
});

test('busy re-run: after six re-runs the last refusal is returned, for the retry queue', async () => {
  const r = refusedThen(100);
  const { last, busy } = await rerunWhileBusy(r.once, () => true);
  assert.deepEqual(last, BUSY);
  assert.deepEqual(busy, { refusals: 6, limit: 2 });
  assert.equal(r.runs(), 7);
});
