import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { ioBytes, StallClock, treeIoBytes } from '../../src/sync/stall.js';
import { eventually } from '../helpers/trees.js';

test('stall: a run is stalled once its progress has not moved for the limit', () => {
  const clock = new StallClock(1000, 0);
  assert.equal(clock.stalled(10, 500), false);
  assert.equal(clock.stalled(10, 1400), false, 'not moved for 900 ms');
  assert.equal(clock.stalled(10, 1500), true);
  assert.equal(clock.stalled(11, 1600), false, 'it moved');
});

/**
 * A run over ssh is a supervisor whose children move the bytes: the backstop counts the I/O of the
 * whole process tree, or a healthy long transfer would look stalled.
 */
test("stall: a process tree's I/O counts its children's, the supervisor's own being next to none", async (t) => {
  // its own process group, so that the child goes with it
  const top = spawn(
    'sh',
    ['-c', 'sh -c "head -c 20000000 /dev/zero > /dev/null; exec sleep 30" & exec sleep 30'],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  const pid = top.pid ?? 0;
  t.after(() => {
    process.kill(-pid, 'SIGKILL');
  });
  await eventually(() => (treeIoBytes(pid) ?? 0) >= 20_000_000, 10_000, "the child's 20 MB");
  assert.ok((ioBytes(pid) ?? Infinity) < 1_000_000, 'the top process itself moved next to nothing');
});
