/**
 * The coalescer against a model of the replica while batches fail (the remote down) and their
 * operations come back later from the retry queue, with directories renamed back and forth in
 * between. rsync's semantics are modelled, not copied from the code: a failed batch may have
 * done any part of its work before the connection broke; a send of `d/x` with `-R` creates `d`
 * on the replica (so does a removal's include chain); a removal mirrors whatever is there when rsync looks. After the backlog has
 * been sent the replica must equal the source, whatever happened in between.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../src/coalesce/coalescer.js';
import type { PathOp } from '../../src/coalesce/types.js';
import type { CoalescedChange as Change } from '../../src/filter/changes.js';
import { isWithin } from '../../src/paths.js';
import { prng } from '../helpers/prng.js';
import { runOp, sorted, under, type Tree } from './replica-model.js';

const DIRS = ['d', 'e'] as const;

/** A row of the retry queue. */
interface Row {
  readonly op: PathOp;
  readonly owes: boolean;
}

function scenario(seed: number): { src: Tree; rep: Tree; log: string[] } {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const c = new Coalescer();
  const src: Tree = new Map<string, number | 'dir'>([
    ['d', 'dir'],
    ['d/x', 1],
  ]);
  const rep: Tree = new Map(src);
  // The retry queue as the store keeps it: one row per path (a later op for it replaces the row,
  // and owes the removal of a removal's or a move's row it replaced).
  const queue = new Map<string, Row>();
  const put = (op: PathOp): void => {
    const old = queue.get(op.path);
    queue.set(op.path, {
      op,
      owes: old !== undefined && (old.op.kind === 'delete' || old.op.kind === 'move' || old.owes),
    });
  };
  let taken: PathOp[] = [];
  let adopted: PathOp[] = [];
  const log: string[] = [];
  let inFlight: PathOp[] | null = null;
  let version = 1;
  const emit = (...changes: Change[]): void => {
    for (const ch of changes) c.apply(ch);
    log.push(changes.map((ch) => JSON.stringify(ch)).join(', '));
  };
  const land = (ok: boolean): void => {
    if (inFlight === null) return;
    // A failed batch did some of its work, in order, before the connection broke.
    const done = ok ? inFlight.length : Math.floor(rnd() * (inFlight.length + 1));
    for (const op of inFlight.slice(0, done)) runOp(op, src, rep);
    if (!ok) for (const op of [...adopted, ...taken]) put(op);
    adopted = [];
    taken = [];
    log.push(`${ok ? 'landed' : `failed after ${done}`} ${JSON.stringify(inFlight)}`);
    c.landed(inFlight, ok);
    inFlight = null;
  };
  for (let step = 0; step < 24; step++) {
    const r = rnd();
    const dir = pick(DIRS);
    const other = dir === 'd' ? 'e' : 'd';
    const file = `${dir}/${pick(['x', 'y'])}`;
    if (r < 0.15 && src.has(dir)) {
      const isNew = !src.has(file);
      src.set(file, ++version);
      emit(...(isNew ? [{ kind: 'new', path: file } as const] : []), { kind: 'sync', path: file });
    } else if (r < 0.2 && src.has(file)) {
      src.delete(file);
      emit({ kind: 'delete', path: file, isDir: false });
    } else if (r < 0.35 && src.has(dir) && !src.has(other)) {
      for (const k of under(src, dir)) {
        src.set(other + k.slice(dir.length), src.get(k) ?? 0);
        src.delete(k);
      }
      emit({ kind: 'rename', from: dir, to: other, isDir: true });
    } else if (r < 0.4 && !src.has(dir)) {
      src.set(dir, 'dir');
      emit({ kind: 'tree', path: dir });
    } else if (r < 0.45 && src.has(dir)) {
      for (const k of under(src, dir)) src.delete(k);
      emit({ kind: 'delete', path: dir, isDir: true });
    } else if (r < 0.65) {
      if (inFlight === null) {
        inFlight = c.take();
        // A batch takes over the rows of its paths, the sends below a directory it sends whole, and
        // every row below a directory it removes (the removal mirrors it).
        for (const op of inFlight)
          for (const [p, row] of queue)
            if (
              p === op.path ||
              ((op.kind === 'tree' || op.kind === 'move') &&
                isWithin(p, op.path) &&
                row.op.kind !== 'delete') ||
              (op.kind === 'delete' && op.isDir && isWithin(p, op.path))
            ) {
              if (p !== op.path) adopted.push(row.op);
              // The batch's op takes the row over: what the row owed stays owed.
              else if (row.op.kind === 'delete' || row.op.kind === 'move' || row.owes)
                taken.push({ kind: 'delete', path: p, isDir: true });
              queue.delete(p);
            }
        taken.push(...inFlight);
        log.push(`took ${JSON.stringify(inFlight)}`);
      }
    } else if (r < 0.75) land(true);
    else if (r < 0.9) land(false);
    else if (inFlight === null) {
      // The retry queue gives its rows back (the remote answers again).
      log.push(`restored ${JSON.stringify([...queue.values()])}`);
      for (const row of queue.values()) c.restore(row.op, row.owes);
    }
  }
  land(true);
  for (const row of queue.values()) c.restore(row.op, row.owes);
  queue.clear();
  for (let ops = c.take(); ops.length > 0; ops = c.take()) {
    inFlight = ops;
    land(true);
  }
  return { src, rep, log };
}

test('directories renamed while batches fail and come back from the queue: the replica ends equal to the source', () => {
  for (let seed = 1; seed <= 20_000; seed++) {
    const { src, rep, log } = scenario(seed);
    assert.deepEqual(sorted(rep), sorted(src), `seed ${seed}:\n${log.join('\n')}`);
  }
});

test('a move that failed, a file below it sent since, then the directory renamed away: its removal is sent', () => {
  const c = new Coalescer();
  c.apply({ kind: 'rename', from: 'a', to: 'b', isDir: true });
  const failed = c.take(); // the remote is down: the move and the removal of `a` are queued
  c.landed(failed);
  c.apply({ kind: 'sync', path: 'b/x' });
  const sent = c.take();
  assert.deepEqual(sent, [{ kind: 'sync', path: 'b/x' }]); // lands: `-R` creates b on the replica
  c.landed(sent);
  for (const op of failed) c.restore(op);
  c.apply({ kind: 'rename', from: 'b', to: 'c', isDir: true });
  const ops = c.take();
  assert.ok(
    ops.some((op) => op.kind === 'delete' && op.path === 'b'),
    `b is removed: ${JSON.stringify(ops)}`,
  );
});

test('the queue keeps one row per path: a newer send of a path whose removal failed removes it first', () => {
  const c = new Coalescer();
  c.apply({ kind: 'delete', path: 'd', isDir: true });
  c.landed(c.take(), false); // the removal waits in the queue as the row of `d`
  c.apply({ kind: 'tree', path: 'd' }); // takes that row over when it is sent
  const retried = c.take();
  assert.deepEqual(retried, [
    { kind: 'delete', path: 'd', isDir: true },
    { kind: 'tree', path: 'd' },
  ]);
  c.landed(retried, true);
  c.apply({ kind: 'sync', path: 'd' });
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'd' }], 'settled once a batch carrying it landed');
});

test('a directory whose whole send failed, then only its attributes changed: its contents still go', () => {
  const c = new Coalescer();
  c.apply({ kind: 'tree', path: 'd' });
  c.landed(c.take(), false);
  c.apply({ kind: 'sync', path: 'd' }); // chmod d: would take over the row of the failed send
  assert.deepEqual(c.take(), [{ kind: 'tree', path: 'd' }]);
});

test('a send whose batch failed comes back from the queue and crosses once (no removal before it)', () => {
  const c = new Coalescer();
  c.apply({ kind: 'sync', path: 'f' });
  c.landed(c.take(), false);
  c.restore({ kind: 'sync', path: 'f' }, false);
  assert.deepEqual(c.take(), [{ kind: 'sync', path: 'f' }]);
});
