import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RsyncPool } from '../../src/sync/pool.js';

test('pool: ready() answers true once the rsync thread has booted', async (t) => {
  const pool = new RsyncPool(2);
  t.after(() => pool.close());
  assert.equal(await pool.ready(10_000), true);
  assert.equal(pool.started, 0, 'the ping is not an rsync run');
});

test('pool: ready() answers false when the thread has not booted within its limit, and the pool still starts', async (t) => {
  const pool = new RsyncPool(1);
  t.after(() => pool.close());
  // A thread takes tens of milliseconds to boot; a limit of 0 ms ends first.
  assert.equal(await pool.ready(0), false);
  assert.equal(await pool.ready(10_000), true);
});
