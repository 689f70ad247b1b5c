import type { CoalescedChange } from '../filter/changes.js';
import { isWithin, parentOf, type RelPath } from '../paths.js';
import { InFlight } from './in-flight.js';
import { PathMap } from './path-map.js';
import type { PathOp } from './types.js';

/**
 * What the replica still needs for one path. Read as: first remove the replica's entry (`del`),
 * then `send`. `fresh` means that after `del` the replica has nothing at this path, so a delete
 * arriving before the send cancels it: a file created and removed (or renamed away) before it is
 * dispatched never travels, whatever its name.
 */
interface Entry {
  readonly del: { readonly isDir: boolean } | null;
  readonly send: 'none' | 'sync' | 'tree' | 'move';
  /** The replica's copy to use as the basis, for `send: 'move'`. */
  readonly from: RelPath | null;
  readonly fresh: boolean;
  /** For `send: 'tree'`: the replica's copy may hold entries the source no longer has (see PathOp). */
  readonly prune?: boolean;
}

const NOTHING: Entry = { del: null, send: 'none', from: null, fresh: false };

/** Created, with no content announced yet (no close_write so far). */
const isWaiting = (e: Entry): boolean => e.send === 'none' && e.del === null;

/**
 * Paths pending before the coalescer gives up tracking them one by one and syncs the whole tree
 * instead (as Syncthing's capped aggregator does): ~100 MB of entries at most, and a full sync
 * costs no more than sending that many paths.
 */
export const MAX_PENDING = 250_000;

/**
 * Per-path state of one tree towards one remote: changes go in, the smallest set of operations
 * that brings the replica up to date comes out. Last change wins per path; a directory delete
 * swallows everything below it; a new, moved-in or renamed directory is one recursive send that
 * covers every send below it; a directory renamed within the tree is sent against its old name
 * on the replica, so unchanged files are not sent again. Pure: no I/O, no clock.
 */
export class Coalescer {
  private readonly entries = new PathMap<Entry>(isWaiting);
  private full = false;
  /** The batches taken and not landed yet, by the array `take` handed out. */
  private readonly carrying = new Map<readonly PathOp[], InFlight>();
  /**
   * Batches landed whose changes may not all have come in yet (see `settled`): what they carried
   * may be on the replica though no change told of it so far.
   */
  private readonly settling = new Map<readonly PathOp[], InFlight>();
  /**
   * Whether a `take` while batches are in flight may find something: a change arrived on a path
   * no batch in flight touches, or a batch landed. Spares a scan of everything pending per event
   * while all of it waits for the batches in flight.
   */
  private mayTake = false;

  /** `maxPending`: paths tracked one by one before a full sync of the tree replaces them. */
  constructor(private readonly maxPending = MAX_PENDING) {}
  /**
   * Paths of batches that failed, until a batch carrying them lands. Their rows wait in the retry
   * queue, which keeps one row per path: a newer operation on the path takes the row over, so it
   * must do what the failed one did too (see `owing`).
   */
  private readonly owed = new Map<RelPath, Owed>();

  /** Takes a change in; true when it made the pending work exceed `maxPending` (see `capped`). */
  apply(change: CoalescedChange): boolean {
    this.change(change);
    if (this.capped()) return true;
    const path = change.kind === 'rename' ? change.to : change.kind === 'resync' ? null : change.path;
    if (change.kind !== 'new' && (path === null || !this.inFlightCarries(path))) this.mayTake = true;
    return false;
  }

  /**
   * Every change made before `batch` landed has come in (the watcher has handed on what the kernel
   * had queued by then): what it carried is known from them now (see `mayHold`).
   */
  settled(batch: readonly PathOp[]): void {
    this.settling.delete(batch);
  }

  /** Whether some batch in flight may create `path` on the replica (see InFlight.carries). */
  private inFlightCarries(path: RelPath): boolean {
    for (const batch of this.carrying.values()) if (batch.carries(path)) return true;
    return false;
  }

  /**
   * Whether the replica may hold `path` though no change told of it: a batch in flight may create
   * it (its delete form sends whatever exists when rsync looks; a tree send walks what is there),
   * or a batch that landed before the change announcing `path` came in may have (a walk sees a
   * file the moment it is made; its event can come in after the batch landed). Such a path is
   * never fresh: a removal that follows is sent, not cancelled.
   */
  private mayHold(path: RelPath): boolean {
    if (this.inFlightCarries(path)) return true;
    for (const batch of this.settling.values()) if (batch.carries(path)) return true;
    return false;
  }

  /** Whether `take` may find work: always when nothing is in flight and something is ready. */
  get takeable(): boolean {
    return this.size > 0 && (this.carrying.size === 0 || this.mayTake);
  }

  /** True when the pending work exceeded `maxPending` and became a full sync of the tree. */
  private capped(): boolean {
    if (this.entries.size <= this.maxPending) return false;
    this.change({ kind: 'resync' });
    return true;
  }

  /**
   * The walks of `batch`'s send of `trees` are done and listed `listed` (the trees included):
   * nothing else below those trees is the batch's to send, so changes there need not wait for it.
   */
  narrow(batch: readonly PathOp[], trees: readonly RelPath[], listed: readonly RelPath[]): void {
    if (!this.carrying.has(batch)) return; // landed already
    const walked = new Set(trees);
    const claims: PathOp[] = batch.filter(
      (op) => !((op.kind === 'tree' || op.kind === 'move') && walked.has(op.path)),
    );
    for (const path of listed) claims.push({ kind: 'sync', path });
    this.carrying.set(batch, new InFlight(claims));
    this.mayTake = true;
  }

  /**
   * `batch` walks its trees again (a run made anew: its daemon was busy, a file was set aside): it
   * claims them whole, as when it was taken, until `narrow` says what the new walks listed. Else a
   * change below them taken beside it between the new walk and its listing could be undone by it.
   */
  widen(batch: readonly PathOp[]): void {
    if (this.carrying.has(batch)) this.carrying.set(batch, new InFlight(batch));
  }

  /** `batch` (as `take` returned it) has finished (`ok`: every run of it succeeded). */
  landed(batch: readonly PathOp[], ok = true): void {
    const carried = this.carrying.get(batch);
    if (carried === undefined) return;
    this.carrying.delete(batch);
    this.settling.set(batch, carried);
    for (const op of batch) {
      if (ok) this.owed.delete(op.path);
      else if (op.kind !== 'full') this.owed.set(op.path, stronger(this.owed.get(op.path), owedBy(op)));
    }
    if (ok && batch.some((op) => op.kind === 'full')) this.owed.clear();
    this.mayTake = true;
  }

  private change(change: CoalescedChange): void {
    if (this.full) return; // a pending full resync covers everything
    switch (change.kind) {
      case 'sync':
        return this.sync(change.path);
      case 'new':
        return this.created(change.path);
      case 'tree':
        return this.tree(change.path, change.prune === true);
      case 'delete':
        return this.delete(change.path, change.isDir);
      case 'rename':
        return change.isDir
          ? this.renameDir(change.from, change.to)
          : this.renameFile(change.from, change.to);
      case 'resync':
        this.entries.clear();
        this.full = true;
        return;
    }
  }

  /**
   * Puts back operations that failed earlier (the retry queue). They are older than anything
   * pending, so a pending change for the same path wins, except that a failed removal still
   * happens before a newer send.
   */
  restore(op: PathOp, owesRemoval = false): boolean {
    this.restoreOne(op, owesRemoval);
    this.mayTake = true;
    return this.capped();
  }

  /** `owesRemoval`: the queue row took over a removal's row (QueueRow.owesRemoval). */
  private restoreOne(op: PathOp, owesRemoval: boolean): void {
    if (this.full) return;
    if (op.kind === 'full') return this.change({ kind: 'resync' });
    // The failed run may have done part of its work before it broke: what the replica holds
    // where it may have written is unknown.
    this.unsure(op);
    if (op.kind !== 'delete' && this.coveredByAncestor(op.path, op.kind === 'move')) return;
    const e = this.entries.get(op.path);
    if (e !== undefined) {
      // A failed removal still runs, before the newer send (a move runs before removals: it
      // becomes a whole send).
      if ((op.kind === 'delete' || owesRemoval) && e.del === null)
        this.set(op.path, {
          ...e,
          del: { isDir: op.kind === 'delete' ? op.isDir : op.kind !== 'sync' },
          ...(e.send === 'move' ? { send: 'tree', from: null } : {}),
        });
      return;
    }
    switch (op.kind) {
      // A removal whose row this send took over (a directory replaced, a file turned into one)
      // runs first (a removal run mirrors the path: stale entries below it go, what exists is
      // sent); without one, the send alone, so nothing crosses twice.
      case 'sync':
      case 'tree':
        if (this.coveredByAncestor(op.path, false)) return;
        // (the queue keeps no `prune`: a tree put back prunes, as the one that failed may have)
        return this.set(op.path, {
          del: owesRemoval ? { isDir: op.kind === 'tree' } : null,
          send: op.kind,
          from: null,
          fresh: false,
          prune: op.kind === 'tree',
        });
      case 'delete':
        return this.set(op.path, { del: { isDir: op.isDir }, send: 'none', from: null, fresh: true });
      case 'move':
        return this.set(op.path, { del: null, send: 'move', from: op.from, fresh: false });
    }
  }

  /**
   * "Fresh" promises that no run ever created the path on the replica; it no longer holds where
   * `op` may have written: a removal that follows is sent.
   */
  private unsure(op: PathOp): void {
    const touched = op.kind === 'sync' ? [] : [...this.entries.below(op.path)].map(([p]) => p);
    for (let p = op.path; ; p = parentOf(p)) {
      touched.push(p);
      if (p === '') break;
    }
    for (const p of touched) {
      const e = this.entries.get(p);
      if (e?.fresh === true) this.set(p, { ...e, fresh: false });
    }
  }

  /**
   * Everything not yet on the replica, without taking it: the batch in flight, what waits for
   * dispatch, and created files still being written (as sends). For `sersync2 verify`.
   */
  outstanding(): PathOp[] {
    const waiting: PathOp[] = this.full
      ? [{ kind: 'full', path: '' }]
      : [...this.entries].flatMap(([path, e]): PathOp[] => [
          ...(e.del === null ? [] : [{ kind: 'delete' as const, path, isDir: e.del.isDir }]),
          ...(e.send === 'move' && e.from !== null
            ? [{ kind: 'move' as const, path, from: e.from }]
            : e.send === 'tree'
              ? [treeOp(path, e)]
              : e.del === null || e.send === 'sync'
                ? [{ kind: 'sync' as const, path }]
                : []),
        ]);
    return [...[...this.carrying.keys()].flat(), ...waiting];
  }

  /** Operations ready to send. */
  get size(): number {
    return this.full ? 1 : this.entries.size - this.entries.countedSize;
  }

  /**
   * Takes a batch, in the order it must reach the replica: moves (while their basis is still
   * there), then removals, then sends; it is in flight until `landed`. With nothing in flight,
   * everything ready; otherwise only the ready paths no batch in flight touches (so each path's
   * operations still reach the replica in order), and nothing while a move or a full sync waits
   * (those need the replica as every earlier batch left it). Entries still waiting for content stay.
   */
  take(): PathOp[] {
    const ops = this.carrying.size === 0 ? this.takeReady(() => true) : this.takeBeside();
    this.mayTake = false;
    if (ops.length > 0) this.carrying.set(ops, new InFlight(ops));
    return ops;
  }

  private takeBeside(): PathOp[] {
    if (this.full) return [];
    for (const [, e] of this.entries) if (e.send === 'move') return [];
    return this.takeReady((path) => !this.inFlightCarries(path));
  }

  private takeReady(free: (path: RelPath) => boolean): PathOp[] {
    if (this.full) {
      this.full = false;
      this.entries.clear();
      return [{ kind: 'full', path: '' }];
    }
    const moves: PathOp[] = [];
    const deletes: PathOp[] = [];
    const sends: PathOp[] = [];
    for (const [path, entry] of this.entries) {
      if (entry.send === 'none' && entry.del === null) continue;
      if (!free(path)) continue;
      const owed = this.owed.get(path);
      const e = owed === undefined ? entry : owing(entry, owed);
      if (e.del !== null) deletes.push({ kind: 'delete', path, isDir: e.del.isDir });
      if (e.send === 'move' && e.from !== null) moves.push({ kind: 'move', path, from: e.from });
      else if (e.send === 'tree') sends.push(treeOp(path, e));
      else if (e.send === 'sync') sends.push({ kind: 'sync', path });
      this.entries.delete(path);
    }
    return [...moves, ...deletes, ...sends];
  }

  private sync(path: RelPath): void {
    if (this.coveredByAncestor(path, false)) return;
    const e = this.entries.get(path) ?? NOTHING;
    if (e.send === 'none') this.set(path, { ...e, send: 'sync' });
  }

  private created(path: RelPath): void {
    if (this.coveredByAncestor(path, false) || this.entries.has(path)) return;
    this.set(path, { del: null, send: 'none', from: null, fresh: true });
  }

  /**
   * A directory sent whole. A batch in flight or not settled that may hold it may have sent entries
   * made below it before its watch was set; those that went again before it have no event: the
   * send prunes the replica's copy first (`prune`, also for a directory no watch follows).
   */
  private tree(path: RelPath, prune = false): void {
    if (this.coveredByAncestor(path, false)) return;
    this.dropBelow(path);
    const e = this.entries.get(path);
    this.set(path, {
      del: e?.del ?? null,
      send: 'tree',
      from: null,
      fresh: true,
      prune: prune || e?.prune === true || this.mayHold(path),
    });
  }

  /**
   * A removal is never swallowed by an ancestor's pending send: that send walks what is there now
   * but deletes nothing, and the replica may already hold the entry from an earlier batch.
   * Removals run before sends and cost nothing where nothing is left to remove.
   */
  private delete(path: RelPath, isDir: boolean): void {
    if (isDir) this.dropBelow(path);
    const e = this.entries.get(path);
    if (e?.fresh !== true) return this.set(path, { del: { isDir }, send: 'none', from: null, fresh: true });
    if (e.del === null) this.entries.delete(path);
    else this.set(path, { ...e, send: 'none', from: null });
  }

  private renameFile(from: RelPath, to: RelPath): void {
    this.delete(from, false);
    this.sync(to);
  }

  private renameDir(from: RelPath, to: RelPath): void {
    const ef = this.entries.get(from);
    // The replica's copy of `from` (or, for a chain of renames, of the first name) is the basis.
    const basis = this.coveredByAncestor(from, true)
      ? null
      : ef === undefined || !ef.fresh
        ? from
        : ef.send === 'move'
          ? ef.from
          : null;
    // Content changed below `from` and not sent yet: the move's quick check against the old copy
    // would keep a file rewritten at the same size within the same second (`sed -i`), so these
    // are sent after the move (with --ignore-times, as every event send).
    // So are sends below it in flight: they find their source renamed away and may not land.
    const rebase = (p: RelPath): RelPath => to + p.slice(from.length);
    const changed: RelPath[] = [];
    for (const [p, e] of this.entries.below(from)) if (e.send === 'sync') changed.push(rebase(p));
    const inFlight = [...this.carrying.keys()]
      .flat()
      .filter((op) => op.kind !== 'delete' && isWithin(op.path, from));
    this.delete(from, true);
    if (this.coveredByAncestor(to, true)) return;
    this.dropBelow(to);
    const et = this.entries.get(to);
    // A removal at `to` runs after the moves, so a replaced `to` is sent whole instead.
    if (basis === null || (et?.del ?? null) !== null) return this.tree(to);
    this.set(to, { del: null, send: 'move', from: basis, fresh: true });
    for (const p of changed) this.sync(p);
    for (const op of inFlight) {
      if (op.kind === 'sync') this.sync(rebase(op.path));
      else this.tree(rebase(op.path));
    }
  }

  private set(path: RelPath, e: Entry): void {
    this.entries.set(path, e.fresh && this.mayHold(path) ? { ...e, fresh: false } : e);
  }

  /**
   * True when an ancestor is about to be sent whole, so this path travels with it. A move counts
   * only where asked (a rename, a move below it): it checks files against their old copy with
   * rsync's quick check, so a changed file below it must still be sent on its own.
   */
  private coveredByAncestor(path: RelPath, byMove: boolean): boolean {
    for (let p = path; p !== '';) {
      p = parentOf(p);
      const send = this.entries.get(p)?.send;
      if (send === 'tree' || (byMove && send === 'move')) return true;
    }
    return false;
  }

  private dropBelow(dir: RelPath): void {
    for (const [path] of [...this.entries.below(dir)]) this.entries.delete(path);
  }
}

/** The tree send an entry stands for (a removal before it mirrors the path: no prune then). */
function treeOp(path: RelPath, e: Entry): PathOp {
  return e.prune === true && e.del === null ? { kind: 'tree', path, prune: true } : { kind: 'tree', path };
}

/**
 * What a failed operation leaves owed on its path: a send of the entry, of the directory with
 * its contents, or a removal (a delete or a move may have left stale entries on the replica).
 */
type Owed = 'sync' | 'tree' | 'removal';

const OWED_RANK: Readonly<Record<Owed, number>> = { sync: 0, tree: 1, removal: 2 };

function owedBy(op: PathOp): Owed {
  return op.kind === 'sync' || op.kind === 'tree' ? op.kind : 'removal';
}

function stronger(a: Owed | undefined, b: Owed): Owed {
  return a !== undefined && OWED_RANK[a] > OWED_RANK[b] ? a : b;
}

/**
 * An entry that also does what a failed operation on its path did. A failed send is covered by
 * any later send of the path (a directory's by a send with its contents), so nothing crosses
 * twice; a failed removal or move needs a removal first (a removal run mirrors the path: stale
 * entries go, what exists is sent; a move runs before removals, so it is sent whole).
 */
function owing(e: Entry, owed: Owed): Entry {
  if (e.del !== null || owed === 'sync') return e;
  if (owed === 'tree') return e.send === 'sync' ? { ...e, send: 'tree' } : e;
  return {
    ...e,
    del: { isDir: e.send !== 'sync' },
    ...(e.send === 'move' ? { send: 'tree', from: null } : {}),
  };
}
