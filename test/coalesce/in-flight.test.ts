/**
 * The coalescer against a model of the replica, over random interleavings of changes and batches
 * that run while changes keep coming. rsync's semantics are modelled, not copied from the code:
 * a removal run sends whatever exists when rsync looks (sersync's delete form), a send of a
 * missing path does nothing (vanished), a directory send adds what is below it. After the last
 * batch the replica must equal the source, whatever happened in between.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../../src/coalesce/coalescer.js';
import type { PathOp } from '../../src/coalesce/types.js';
import type { CoalescedChange as Change } from '../../src/filter/changes.js';
import { isWithin } from '../../src/paths.js';
import { prng } from '../helpers/prng.js';

/** path → content version ('dir' for a directory). */
type Tree = Map<string, number | 'dir'>;

const under = (t: Tree, p: string): string[] => [...t.keys()].filter((k) => isWithin(k, p));

/** What running one batch does to the replica, given the source as it is while it runs. */
function run(ops: readonly PathOp[], src: Tree, rep: Tree): void {
  const mirror = (p: string, remove: boolean): void => {
    if (remove) for (const k of under(rep, p)) if (!src.has(k)) rep.delete(k);
    for (const k of under(src, p)) rep.set(k, src.get(k) ?? 0);
  };
  for (const op of ops) {
    switch (op.kind) {
      case 'delete': // include chain `/p`, `/p/***` with --delete: mirrors p, whatever is there now
      case 'move': // -r --delete of the new directory
      case 'full':
        mirror(op.path, true);
        break;
      case 'tree': // the list walked below it: adds and updates, removes nothing
        mirror(op.path, false);
        break;
      case 'sync': {
        const v = src.get(op.path);
        if (v !== undefined) rep.set(op.path, v); // a vanished source sends nothing
        break;
      }
    }
  }
}

function scenario(seed: number): { src: Tree; rep: Tree; log: string[] } {
  const rnd = prng(seed);
  const c = new Coalescer();
  const src: Tree = new Map([['f', 1]]);
  const rep: Tree = new Map(src);
  const log: string[] = [];
  let inFlight: PathOp[] | null = null;
  let version = 1;
  const emit = (...changes: Change[]): void => {
    for (const ch of changes) c.apply(ch);
    log.push(changes.map((ch) => `${ch.kind} ${'path' in ch ? ch.path : ''}`).join(', '));
  };
  const land = (): void => {
    if (inFlight === null) return;
    run(inFlight, src, rep);
    log.push(`landed ${JSON.stringify(inFlight)}`);
    c.landed(inFlight);
    inFlight = null;
  };
  for (let step = 0; step < 16; step++) {
    const r = rnd();
    const file = rnd() < 0.5 ? 'f' : 't';
    if (r < 0.18) {
      const isNew = !src.has(file);
      src.set(file, ++version);
      emit(...(isNew ? [{ kind: 'new', path: file } as const] : []), { kind: 'sync', path: file });
    } else if (r < 0.3 && src.has(file)) {
      src.delete(file);
      emit({ kind: 'delete', path: file, isDir: false });
    } else if (r < 0.36 && src.has('t')) {
      src.set('f', src.get('t') ?? 0);
      src.delete('t');
      emit({ kind: 'rename', from: 't', to: 'f', isDir: false });
    } else if (r < 0.44 && !src.has('d')) {
      src.set('d', 'dir');
      emit({ kind: 'tree', path: 'd' });
    } else if (r < 0.52 && src.has('d')) {
      const isNew = !src.has('d/x');
      src.set('d/x', ++version);
      emit(...(isNew ? [{ kind: 'new', path: 'd/x' } as const] : []), { kind: 'sync', path: 'd/x' });
    } else if (r < 0.6 && src.has('d')) {
      const hadX = src.has('d/x');
      for (const k of under(src, 'd')) src.delete(k);
      emit(...(hadX ? [{ kind: 'delete', path: 'd/x', isDir: false } as const] : []), {
        kind: 'delete',
        path: 'd',
        isDir: true,
      });
    } else if (r < 0.8) {
      if (inFlight === null) {
        inFlight = c.take();
        log.push(`took ${JSON.stringify(inFlight)}`);
      }
    } else land();
  }
  land();
  for (let ops = c.take(); ops.length > 0; ops = c.take()) {
    inFlight = ops;
    land();
  }
  return { src, rep, log };
}

test('random changes racing batches in flight: the replica always ends equal to the source', () => {
  for (let seed = 1; seed <= 20_000; seed++) {
    const { src, rep, log } = scenario(seed);
    const sorted = (t: Tree): [string, number | 'dir'][] => [...t].sort(([a], [b]) => a.localeCompare(b));
    assert.deepEqual(sorted(rep), sorted(src), `seed ${seed}:\n${log.join('\n')}`);
  }
});

test('a file re-created while its removal is in flight, then removed again, is removed from the replica', () => {
  const c = new Coalescer();
  c.apply({ kind: 'delete', path: 'f', isDir: false });
  const removal = c.take();
  assert.deepEqual(removal, [{ kind: 'delete', path: 'f', isDir: false }]);
  // In flight: the removal run finds f again and sends it. Then f goes.
  c.apply({ kind: 'new', path: 'f' });
  c.apply({ kind: 'sync', path: 'f' });
  c.apply({ kind: 'delete', path: 'f', isDir: false });
  c.landed(removal);
  assert.deepEqual(c.take(), [{ kind: 'delete', path: 'f', isDir: false }]);
});
