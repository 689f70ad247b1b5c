import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { boundedWalk } from '../../src/watch/scan.js';

test('boundedWalk visits a whole tree, never more than `concurrency` visits at once', async () => {
  // A tree of depth 4 and fan-out 3, addressed as '', '0', '0/1', …
  const children = (p: string): string[] =>
    p.split('/').length > 4 ? [] : ['0', '1', '2'].map((c) => `${p}/${c}`);
  const visited: string[] = [];
  let inFlight = 0;
  let most = 0;
  await boundedWalk(['r'], 3, async (p) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await tick();
    visited.push(p);
    inFlight--;
    return children(p);
  });
  assert.equal(visited.length, 1 + 3 + 9 + 27 + 81);
  assert.equal(new Set(visited).size, visited.length);
  assert.equal(most, 3);
});

test('boundedWalk resolves at once for nothing to visit, and rejects when a visit fails', async () => {
  await boundedWalk([], 2, () => Promise.reject(new Error('never called')));
  await assert.rejects(
    boundedWalk(['x'], 2, () => Promise.reject(new Error('boom'))),
    /boom/,
  );
});
