/**
 * Changes reach the coalescer some time after they are made (the kernel's queue, a busy event
 * loop), while batches walk the live tree: a walk can send a file whose creation comes in only
 * after its batch landed. The coalescer against the phased replica model (replica-model.ts): a
 * nested tree changed at random (files made, written, removed, renamed away and over others as
 * `sed -i` does; directories made, moved and removed with all below them), the changes queued and
 * handed on later in order, up to three batches side by side, each run in steps between which
 * anything else happens. With a retry queue (the real one, SQLite), some batches fail after doing
 * part of their work, and the queue's rows come back as the lane puts them back. After the last
 * batch (and the last retry) the replica equals the source.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coalescer } from '../../src/coalesce/coalescer.js';
import { openWorkStore } from '../../src/queue/store.js';
import type { QueueStore } from '../../src/queue/types.js';
import type { PathOp } from '../../src/coalesce/types.js';
import type { CoalescedChange as Change } from '../../src/filter/changes.js';
import { baseName, isWithin, parentOf } from '../../src/paths.js';
import { prng } from '../helpers/prng.js';
import { batchSteps, sorted, under, type Tree } from './replica-model.js';

interface Outcome {
  readonly equal: boolean;
  readonly log: readonly string[];
  /** Changes handed on while a landed batch waited for them. */
  readonly late: number;
  /** Files made and gone again that never travelled. */
  readonly neverSent: number;
}

interface Options {
  /**
   * Whether the coalescer is told when the changes made before a batch landed have all come in (as
   * the lane does, see LaneContext.reported); false tells it at once, as if changes came in the
   * moment they were made.
   */
  readonly settles: boolean;
  /** With a queue: the share of batches that fail, and the queue their rows wait in. */
  readonly failing?: { readonly rate: number; readonly store: QueueStore };
  /** False runs no tree's prune (see `batchSteps`). */
  readonly prunes?: boolean;
}

const MODEL_FAILURE = { exitCode: 23, message: 'a model failure' };

function scenario(seed: number, { settles, failing, prunes = true }: Options): Outcome {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const depth = 1 + Math.floor(rnd() * 3);
  const c = new Coalescer();
  const src: Tree = new Map();
  const rep: Tree = new Map();
  const log = [`depth ${depth}`];
  const queue: Change[] = [];
  let made = 0;
  let handed = 0;
  let late = 0;
  let serial = 0;
  let version = 0;
  const everSent = new Set<string>();
  const created = new Set<string>();
  const waiting: { ops: PathOp[]; mark: number }[] = [];
  const flights: Flight[] = [];
  const lanes = [{ remoteId: 'model', root: `/tree-${seed}` }];
  let failures = failing !== undefined;
  const join = (d: string, n: string): string => (d === '' ? n : `${d}/${n}`);
  const ever = new Set<string>();
  /**
   * Below a directory whose creation has not come in, nothing is watched yet, so nothing made there
   * has an event (its recursive send covers what is there when it walks), and a rename across the
   * edge is half seen. (The real window ends when the watcher reads the creation, before the lag:
   * the model's is longer.) A walk of an ancestor meanwhile can send a file that is gone again
   * before the watch: the directory's send prunes.
   */
  const unwatched = (p: string): boolean =>
    queue.some((ch) => ch.kind === 'tree' && p !== ch.path && isWithin(p, ch.path));
  const seen = (ch: Change): Change[] => {
    if (ch.kind === 'resync') return [ch];
    if (ch.kind !== 'rename') return unwatched(ch.path) ? [] : [ch];
    const from = !unwatched(ch.from);
    const to = !unwatched(ch.to);
    if (from && to) return [ch];
    if (from) return [{ kind: 'delete', path: ch.from, isDir: ch.isDir }];
    if (to) return [ch.isDir ? { kind: 'tree', path: ch.to } : { kind: 'sync', path: ch.to }];
    return [];
  };
  const changed = (...cs: Change[]): void => {
    for (const ch of cs) {
      const out = seen(ch);
      queue.push(...out);
      made += out.length;
    }
    for (const p of src.keys()) ever.add(p);
  };

  const change = (): void => {
    const dirs = ['', ...[...src].filter(([, v]) => v === 'dir').map(([k]) => k)];
    const files = [...src].filter(([, v]) => v !== 'dir').map(([k]) => k);
    const dir = pick(dirs);
    // a name used before (a file made again where one was removed, a directory where one moved away)
    const again = (kind: 'f' | 'd'): string | undefined => {
      const free = [...ever].filter(
        (p) =>
          !src.has(p) &&
          baseName(p).startsWith(kind) &&
          (parentOf(p) === '' || src.get(parentOf(p)) === 'dir'),
      );
      return rnd() < 0.3 ? free[Math.floor(rnd() * free.length)] : undefined;
    };
    const r = rnd();
    if (r < 0.3 || files.length === 0) {
      const p = again('f') ?? join(dir, `f${serial++}`);
      src.set(p, ++version);
      created.add(p);
      log.push(`create ${p}`);
      changed({ kind: 'new', path: p }, { kind: 'sync', path: p });
    } else if (r < 0.42) {
      const p = pick(files);
      src.set(p, ++version);
      log.push(`write ${p}`);
      changed({ kind: 'sync', path: p });
    } else if (r < 0.5) {
      const p = pick(files);
      src.delete(p);
      log.push(`rm ${p}`);
      changed({ kind: 'delete', path: p, isDir: false });
    } else if (r < 0.62) {
      const a = again('d') ?? join(dir, `d${serial++}`);
      const b = join(a, `d${serial++}`);
      src.set(a, 'dir');
      src.set(b, 'dir');
      log.push(`mkdir -p ${b}`);
      // the inner directory's own event only when the watch on the outer was set in time
      changed({ kind: 'tree', path: a }, ...(rnd() < 0.5 ? [{ kind: 'tree', path: b } as const] : []));
    } else if (r < 0.72) {
      const p = pick(files);
      const to = join(dir, `f${serial++}`);
      src.set(to, src.get(p) ?? 0);
      src.delete(p);
      log.push(`mv ${p} ${to}`);
      changed({ kind: 'rename', from: p, to, isDir: false });
    } else if (r < 0.78 && files.length > 1) {
      const p = pick(files);
      const tmp = join(parentOf(p), `f${serial++}`);
      src.set(p, ++version);
      created.add(tmp);
      log.push(`sed -i ${p} (through ${tmp})`);
      changed(
        { kind: 'new', path: tmp },
        { kind: 'sync', path: tmp },
        { kind: 'rename', from: tmp, to: p, isDir: false },
      );
    } else if (r < 0.9 && dir !== '') {
      const to = join(pick(dirs.filter((d) => !isWithin(d, dir))), `d${serial++}`);
      for (const k of under(src, dir)) {
        src.set(to + k.slice(dir.length), src.get(k) ?? 0);
        src.delete(k);
      }
      log.push(`mv ${dir} ${to}`);
      changed({ kind: 'rename', from: dir, to, isDir: true });
    } else if (r < 0.92) {
      // events lost (an overflow): the whole tree is resynced
      log.push('overflow');
      changed({ kind: 'resync' });
    } else if (dir !== '') {
      // rm -r: every entry's removal, the deepest first
      const gone = under(src, dir)
        .sort()
        .reverse()
        .map((k) => ({ kind: 'delete', path: k, isDir: src.get(k) === 'dir' }) as const);
      for (const g of gone) src.delete(g.path);
      log.push(`rm -r ${dir}`);
      changed(...gone);
    }
  };

  const settle = (): void => {
    for (const w of [...waiting])
      if (handed >= w.mark) {
        waiting.splice(waiting.indexOf(w), 1);
        c.settled(w.ops);
      }
  };
  const handOn = (): void => {
    for (let n = 1 + Math.floor(rnd() * 3); n > 0 && queue.length > 0; n--) {
      const ch = queue.shift() as Change;
      if (waiting.length > 0) late++;
      c.apply(ch);
      handed++;
      log.push(`  came in: ${JSON.stringify(ch)}`);
    }
    settle();
  };
  const take = (): void => {
    const ops = c.take();
    if (ops.length === 0) return;
    const steps = batchSteps(
      ops,
      src,
      rep,
      (trees, listed) => {
        if (depth > 1) c.narrow(ops, trees, listed);
      },
      prunes,
    );
    for (const op of ops) if (op.kind !== 'delete') everSent.add(op.path);
    const batch = failing?.store.begin('model', lanes[0]?.root ?? '', ops) ?? 0;
    // a run that fails may have done part of its work
    const fails = failures && rnd() < (failing?.rate ?? 0);
    if (fails) steps.splice(Math.floor(rnd() * (steps.length + 1)));
    flights.push({ ops, steps, batch, fails });
    log.push(`take ${JSON.stringify(ops)}`);
  };
  const step = (f: Flight): void => {
    f.steps.shift()?.();
    if (f.steps.length > 0) return;
    flights.splice(flights.indexOf(f), 1);
    if (f.fails) failing?.store.fail(f.batch, MODEL_FAILURE);
    else failing?.store.succeed(f.batch);
    // a full sync carries every row the lane had queued (Replicator.afterBatch)
    if (!f.fails && f.ops.some((op) => op.kind === 'full'))
      failing?.store.settleLane('model', lanes[0]?.root ?? '', true);
    c.landed(f.ops, !f.fails);
    log.push(`${f.fails ? 'failed' : 'landed'} ${JSON.stringify(f.ops)}`);
    if (!settles) return c.settled(f.ops);
    waiting.push({ ops: f.ops, mark: made });
    settle();
  };

  /** The rows due, put back as the replicator does (`Lane.restore`); how many. */
  const retry = (): number => {
    const rows = failing?.store.due(Number.MAX_SAFE_INTEGER, 100_000, lanes) ?? [];
    for (const row of rows) c.restore(row.op, row.owesRemoval);
    if (rows.length > 0) log.push(`put back ${JSON.stringify(rows.map((r) => [r.op, r.owesRemoval]))}`);
    return rows.length;
  };
  for (let i = 0; i < 120; i++) {
    const r = rnd();
    if (r < 0.04) retry();
    else if (r < 0.35) change();
    else if (r < 0.6) handOn();
    else if (r < 0.75) {
      if (flights.length < depth && c.takeable) take();
    } else if (flights.length > 0) step(pick(flights));
  }
  while (queue.length > 0) handOn();
  const drain = (): void => {
    for (;;) {
      while (flights.length > 0) step(pick(flights));
      if (!c.takeable) break;
      take();
    }
  };
  drain();
  // the remote takes everything from now on: what waits in the queue goes
  failures = false;
  for (let round = 0; round < 20 && retry() > 0; round++) drain();
  const left = retry();
  if (left > 0) log.push(`${left} rows still queued`);
  const equal = left === 0 && JSON.stringify(sorted(src)) === JSON.stringify(sorted(rep));
  if (!equal) log.push(`source  ${JSON.stringify(sorted(src))}`, `replica ${JSON.stringify(sorted(rep))}`);
  const neverSent = [...created].filter((p) => !src.has(p) && !everSent.has(p)).length;
  return { equal, log, late, neverSent };
}

interface Flight {
  readonly ops: PathOp[];
  readonly steps: (() => void)[];
  /** Its rows in the queue. */
  readonly batch: number;
  readonly fails: boolean;
}

/** Scenarios per test; `MODEL_SEEDS=100000` searches longer. */
const SEEDS = Number(process.env.MODEL_SEEDS ?? 6000);

test('changes that come in after a batch that may have sent them landed: the replica ends equal to the source', () => {
  let late = 0;
  let neverSent = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const o = scenario(seed, { settles: true });
    assert.ok(o.equal, `seed ${seed}:\n${o.log.join('\n')}`);
    late += o.late;
    neverSent += o.neverSent;
  }
  assert.ok(late > SEEDS, `changes came in while a landed batch waited for them ${late} times`);
  assert.ok(neverSent > SEEDS / 2, `files made and gone again never travelled (${neverSent} of them)`);
});

test('the model tells: taking a batch as settled the moment it lands leaves removals undone', () => {
  let differ = 0;
  for (let seed = 1; seed <= SEEDS; seed++) if (!scenario(seed, { settles: false }).equal) differ++;
  assert.ok(differ > 0, 'without waiting for the changes, some replicas keep what the source removed');
});

test('the model tells: a new directory sent without pruning keeps on the replica what a walk sent before its watch and the source lost since', () => {
  let differ = 0;
  for (let seed = 1; seed <= SEEDS; seed++)
    if (!scenario(seed, { settles: true, prunes: false }).equal) differ++;
  assert.ok(differ > 0, 'without the prune, some replicas keep what the source removed');
});

test('batches that fail after part of their work, their rows put back from the real retry queue: the replica ends equal to the source, the queue empty', () => {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sersync-model-'));
  const store = openWorkStore(join(dir, 'queue.db'));
  try {
    let failed = 0;
    for (let seed = 1; seed <= SEEDS / 6; seed++) {
      const o = scenario(seed, { settles: true, failing: { rate: 0.2, store } });
      assert.ok(o.equal, `seed ${seed}:\n${o.log.join('\n')}`);
      failed += o.log.filter((l) => l.startsWith('failed')).length;
    }
    assert.ok(failed > SEEDS / 6, `${failed} batches failed`);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
