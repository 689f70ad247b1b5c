/**
 * The coalescer's indexes against brute force: the path map's subtree lookup and the in-flight
 * batch's "may it create this path" must answer exactly what a scan of everything would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../src/coalesce/coalescer.js';
import { InFlight } from '../../src/coalesce/in-flight.js';
import { PathMap } from '../../src/coalesce/path-map.js';
import type { PathOp } from '../../src/coalesce/types.js';
import { isWithin } from '../../src/paths.js';
import { prng, seedFrom } from '../helpers/prng.js';

const NAMES = ['a', 'b', 'ab', 'a b'];

function randomPath(rand: () => number): string {
  const depth = 1 + Math.floor(rand() * 4);
  return Array.from({ length: depth }, () => NAMES[Math.floor(rand() * NAMES.length)]).join('/');
}

test('path map: below() finds exactly the keys under a directory, after any sets and deletes', () => {
  const seed = seedFrom(process.env.SEED);
  const rand = prng(seed);
  const map = new PathMap<number>((v) => v % 2 === 0);
  const model = new Map<string, number>();
  for (let i = 0; i < 5_000; i++) {
    const p = randomPath(rand);
    if (rand() < 0.6) {
      map.set(p, i);
      model.set(p, i);
    } else {
      assert.equal(map.delete(p), model.delete(p), `seed ${seed}`);
    }
    const dir = rand() < 0.1 ? '' : randomPath(rand);
    const expected = [...model.keys()].filter((k) => k !== dir && isWithin(k, dir)).sort();
    assert.deepEqual([...map.below(dir)].map(([k]) => k).sort(), expected, `seed ${seed}, below ${dir}`);
    assert.equal(map.size, model.size);
    assert.equal(map.countedSize, [...model.values()].filter((v) => v % 2 === 0).length, `seed ${seed}`);
  }
  assert.deepEqual([...map.keys()], [...model.keys()], 'insertion order, as a Map');
});

test('in flight: carries(path) is what a scan of the batch says', () => {
  const seed = seedFrom(process.env.SEED);
  const rand = prng(seed);
  const kinds: PathOp['kind'][] = ['sync', 'tree', 'delete', 'move'];
  for (let round = 0; round < 200; round++) {
    const ops: PathOp[] = Array.from({ length: Math.floor(rand() * 6) }, () => {
      const path = randomPath(rand);
      const kind = kinds[Math.floor(rand() * kinds.length)];
      if (kind === 'delete') return { kind, path, isDir: rand() < 0.5 };
      if (kind === 'move') return { kind, path, from: randomPath(rand) };
      return { kind: kind === 'tree' ? 'tree' : 'sync', path };
    });
    if (rand() < 0.05) ops.push({ kind: 'full', path: '' });
    const batch = new InFlight(ops);
    for (let i = 0; i < 20; i++) {
      const path = rand() < 0.05 ? '' : randomPath(rand);
      // a move also holds its basis, whole
      const scan = ops.some(
        (op) =>
          isWithin(op.path, path) ||
          (op.kind !== 'sync' && isWithin(path, op.path)) ||
          (op.kind === 'move' && (isWithin(op.from, path) || isWithin(path, op.from))),
      );
      assert.equal(batch.carries(path), scan, `seed ${seed}: ${JSON.stringify(ops)} carries ${path}`);
    }
  }
});

test('coalescer: past its limit of pending paths it falls back to one full sync of the tree', () => {
  const c = new Coalescer(3);
  for (const path of ['a', 'b', 'c']) assert.equal(c.apply({ kind: 'sync', path }), false);
  assert.equal(c.apply({ kind: 'sync', path: 'd' }), true, 'the fourth path trips it');
  assert.equal(c.apply({ kind: 'sync', path: 'e' }), false, 'the full sync covers what follows');
  const full = c.take();
  assert.deepEqual(full, [{ kind: 'full', path: '' }]);
  assert.equal(c.apply({ kind: 'sync', path: 'f' }), false);
  assert.deepEqual(c.take(), [], 'nothing runs beside a full sync');
  c.landed(full);
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'f' }], 'tracked one by one again');
  // Rows put back from the retry queue count too.
  const r = new Coalescer(1);
  assert.equal(r.restore({ kind: 'delete', path: 'a', isDir: false }), false);
  assert.equal(r.restore({ kind: 'delete', path: 'b', isDir: false }), true);
  assert.deepEqual(r.take(), [{ kind: 'full', path: '' }]);
});
