/**
 * The coalescer handing out batches that run side by side (a lane's `depth`), against a model of
 * the replica: up to three batches in flight, each running its operations one at a time, in
 * order, interleaved with the others' and with new changes, landing in any order (rsync as
 * replica-model.ts models it). Batches in flight never share a path or a path and one above it,
 * and after the last batch the replica equals the source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../src/coalesce/coalescer.js';
import type { PathOp } from '../../src/coalesce/types.js';
import type { CoalescedChange as Change } from '../../src/filter/changes.js';
import { isWithin, parentOf } from '../../src/paths.js';
import { prng } from '../helpers/prng.js';
import { runOp, sorted, under, type Tree } from './replica-model.js';

/** True when one path is the other or above it: such paths may not be in flight in two batches at once. */
const overlap = (a: string, b: string): boolean => isWithin(a, b) || isWithin(b, a);

/** The paths an operation touches on the replica: a move reads its basis too. */
const touched = (op: PathOp): string[] => (op.kind === 'move' ? [op.path, op.from] : [op.path]);

const DIRS = ['d', 'e', 'g'] as const;

function scenario(seed: number): { src: Tree; rep: Tree; log: string[]; sideBySide: number } {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const c = new Coalescer();
  const src: Tree = new Map<string, number | 'dir'>([
    ['d', 'dir'],
    ['d/x', 1],
    ['f', 1],
  ]);
  const rep: Tree = new Map(src);
  const log: string[] = [];
  /** Each batch in flight with how many of its operations have run. */
  const flights: { ops: PathOp[]; done: number }[] = [];
  let version = 1;
  let sideBySide = 0;
  const emit = (...changes: Change[]): void => {
    for (const ch of changes) c.apply(ch);
    log.push(changes.map((ch) => JSON.stringify(ch)).join(', '));
  };
  const take = (): void => {
    const ops = c.take();
    if (ops.length === 0) return;
    for (const f of flights)
      for (const a of f.ops)
        for (const b of ops)
          assert.ok(
            !touched(a).some((p) => touched(b).some((q) => overlap(p, q))),
            `seed ${seed}: ${JSON.stringify(b)} beside ${JSON.stringify(a)}`,
          );
    if (flights.length > 0) sideBySide++;
    flights.push({ ops, done: 0 });
    log.push(`took ${JSON.stringify(ops)}`);
  };
  const step = (): void => {
    const f = pick(flights);
    const op = f.ops[f.done++];
    if (op !== undefined) runOp(op, src, rep);
    if (f.done < f.ops.length) return;
    flights.splice(flights.indexOf(f), 1);
    c.landed(f.ops);
    log.push(`landed ${JSON.stringify(f.ops)}`);
  };
  for (let i = 0; i < 40; i++) {
    const r = rnd();
    const dir = pick(DIRS);
    const file = rnd() < 0.2 ? 'f' : `${dir}/${pick(['x', 'y', 'z'])}`;
    const parent = parentOf(file);
    if (r < 0.25 && (parent === '' || src.has(parent))) {
      const isNew = !src.has(file);
      src.set(file, ++version);
      emit(...(isNew ? [{ kind: 'new', path: file } as const] : []), { kind: 'sync', path: file });
    } else if (r < 0.32 && src.has(file)) {
      src.delete(file);
      emit({ kind: 'delete', path: file, isDir: false });
    } else if (r < 0.38 && !src.has(dir)) {
      src.set(dir, 'dir');
      emit({ kind: 'tree', path: dir });
    } else if (r < 0.42 && src.has(dir)) {
      for (const k of under(src, dir)) src.delete(k);
      emit({ kind: 'delete', path: dir, isDir: true });
    } else if (r < 0.46 && src.has(dir)) {
      const free = DIRS.filter((d) => !src.has(d));
      if (free.length === 0) continue;
      const to = pick(free);
      for (const k of under(src, dir)) {
        src.set(to + k.slice(dir.length), src.get(k) ?? 0);
        src.delete(k);
      }
      emit({ kind: 'rename', from: dir, to, isDir: true });
    } else if (r < 0.7) {
      if (flights.length < 3) take();
    } else if (flights.length > 0) step();
  }
  while (flights.length > 0) step();
  for (let ops = c.take(); ops.length > 0; ops = c.take()) {
    for (const op of ops) runOp(op, src, rep);
    c.landed(ops);
  }
  return { src, rep, log, sideBySide };
}

test('batches side by side, landing in any order: never on the same paths, and the replica ends equal to the source', () => {
  let sideBySide = 0;
  for (let seed = 1; seed <= 20_000; seed++) {
    const { src, rep, log, ...s } = scenario(seed);
    sideBySide += s.sideBySide;
    assert.deepEqual(sorted(rep), sorted(src), `seed ${seed}:\n${log.join('\n')}`);
  }
  assert.ok(sideBySide > 10_000, `batches were taken beside others ${sideBySide} times`);
});

test('a burst into new directories: each new directory goes beside the batch in flight; files below one in flight wait for it', () => {
  const c = new Coalescer();
  c.apply({ kind: 'tree', path: 'd0' });
  const first = c.take();
  assert.deepEqual(first, [{ kind: 'tree', path: 'd0' }]);
  c.apply({ kind: 'new', path: 'd0/f' });
  c.apply({ kind: 'sync', path: 'd0/f' });
  assert.equal(c.takeable, false, 'd0/f waits for the walk of d0 in flight');
  c.apply({ kind: 'tree', path: 'd1' });
  assert.equal(c.takeable, true);
  assert.deepEqual(c.take(), [{ kind: 'tree', path: 'd1' }]);
  c.landed(first);
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'd0/f' }], 'sent once the walk of d0 landed');
});

test('a move or a full sync never runs beside another batch', () => {
  const c = new Coalescer();
  c.apply({ kind: 'sync', path: 'f' });
  const first = c.take();
  c.apply({ kind: 'rename', from: 'a', to: 'b', isDir: true });
  c.apply({ kind: 'sync', path: 'g' });
  assert.deepEqual(c.take(), [], 'the move waits, and so does what comes after it');
  c.landed(first);
  assert.deepEqual(c.take(), [
    { kind: 'move', path: 'b', from: 'a' },
    { kind: 'delete', path: 'a', isDir: true },
    { kind: 'sync', path: 'g' },
  ]);
  const d = new Coalescer();
  d.apply({ kind: 'sync', path: 'f' });
  const before = d.take();
  d.apply({ kind: 'resync' });
  assert.deepEqual(d.take(), []);
  d.landed(before);
  assert.deepEqual(d.take(), [{ kind: 'full', path: '' }]);
});

test('while a move is in flight, nothing at or below its basis goes beside it', () => {
  const c = new Coalescer();
  // a move put back from the retry queue: the removal of its basis is a row of its own
  c.restore({ kind: 'move', path: 'b', from: 'a' });
  assert.deepEqual(c.take(), [{ kind: 'move', path: 'b', from: 'a' }]);
  c.apply({ kind: 'new', path: 'a/n' });
  c.apply({ kind: 'sync', path: 'a/n' });
  c.apply({ kind: 'sync', path: 'g' });
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'g' }], 'a/n would change the basis: it waits');
});

test('once a walk in flight has listed what it sends, only those paths wait for it', () => {
  const c = new Coalescer();
  c.apply({ kind: 'tree', path: 'd' });
  const batch = c.take();
  c.apply({ kind: 'sync', path: 'd/new' });
  c.apply({ kind: 'sync', path: 'd/a' });
  assert.deepEqual(c.take(), [], 'everything below d waits while its walk runs');
  c.narrow(batch, ['d'], ['d', 'd/a']);
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'd/new' }], 'not listed: goes beside');
  c.landed(batch);
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'd/a' }], 'listed: after the batch landed');
  c.narrow(batch, ['d'], []); // a listing that arrives after its batch landed changes nothing
  assert.equal(c.takeable, false);
});

test('a batch whose walk runs again claims its trees whole until the new walk has listed', () => {
  const c = new Coalescer();
  c.apply({ kind: 'tree', path: 'd' });
  const batch = c.take();
  c.narrow(batch, ['d'], ['d', 'd/a']);
  c.widen(batch); // its run is made again (a busy daemon refused it)
  c.apply({ kind: 'sync', path: 'd/new' });
  assert.deepEqual(c.take(), [], 'below d, it waits for the new listing');
  c.narrow(batch, ['d'], ['d', 'd/a', 'd/new']);
  assert.deepEqual(c.take(), [], 'the new walk listed it: it waits for the batch');
  c.landed(batch);
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'd/new' }]);
  c.widen(batch); // landed: nothing to claim
  assert.equal(c.takeable, false);
});
