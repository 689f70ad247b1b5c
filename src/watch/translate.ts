import { joinRel, type RelPath } from '../paths.js';
import { IN, type RawInotifyEvent } from './inotify-events.js';
import type { WatchEvent } from './types.js';
import type { DirNode, WatchTree } from './watch-tree.js';

/**
 * What the inotify watcher must do, in order, for a batch of raw events. `watch` comes before the
 * `emit` of the directory's create/move-in/rename: a new directory and everything below it is
 * watched before anyone hears of it (the new-directory contract, see inotify-watcher.ts).
 */
export type Step =
  | { readonly do: 'emit'; readonly event: WatchEvent }
  /** Watch directory `name` in `parent` and every directory below it (found by scanning). */
  | { readonly do: 'watch'; readonly parent: DirNode; readonly name: RelPath }
  /** inotify_rm_watch these (a subtree that left the tree). */
  | { readonly do: 'unwatch'; readonly wds: readonly number[] }
  /** Events were lost: rewatch the whole tree from a fresh scan, then emit `overflow`. */
  | { readonly do: 'overflow' }
  /** The root is gone: drop every watch, report nothing more. */
  | { readonly do: 'stop' };

/** A name an exchange of two entries touched: what it held before, and what it holds now. */
interface SwappedName {
  readonly parent: DirNode;
  readonly name: RelPath;
  readonly path: RelPath;
  readonly wasDir: boolean;
  readonly isDir: boolean;
}

/** An IN_MOVED_FROM whose IN_MOVED_TO (same cookie) comes later in the events being translated. */
interface PendingMove {
  readonly parent: DirNode;
  readonly name: RelPath;
  readonly path: RelPath;
  readonly isDir: boolean;
}

/**
 * Turns raw inotify events into `WatchEvent`s and keeps the wd tree in step with directory
 * creates, deletes and moves. Pure: all I/O is described by the steps it yields.
 *
 * Rename pairing. The kernel queues a rename's IN_MOVED_FROM and IN_MOVED_TO back to back (other
 * entries' events may slip between them, never one about either name), but a read can end between
 * the two. A MOVED_FROM whose partner is not in what has been read so far is therefore not
 * translated yet: it and everything after it wait, to be translated in front of the next read, or
 * alone by `finish()` (on a short timer). Then an unpaired MOVED_FROM is final: a `move-out` at its
 * place in the stream, its watches dropped at once, so later events from its directories (now
 * outside the tree) are ignored rather than reported under stale paths.
 */
export class EventTranslator {
  private readonly pending = new Map<number, PendingMove>();
  /** Cookies of the IN_MOVED_TOs among the events being translated. */
  private partners = new Set<number>();
  private waitingEvents: RawInotifyEvent[] = [];
  private stopped = false;

  constructor(
    private readonly tree: WatchTree,
    private readonly skipDir: (rel: RelPath) => boolean,
  ) {}

  /** True while events wait for the next read: call `finish()` if none comes soon. */
  get waiting(): boolean {
    return this.waitingEvents.length > 0;
  }

  /**
   * Translates a read (after whatever the previous one left waiting), lazily: each event is
   * translated only once the caller has carried out the steps of the events before it, so it sees
   * the tree as they left it (a new directory scanned, the whole tree rewatched after an overflow).
   */
  *translate(batch: readonly RawInotifyEvent[]): Generator<Step, void, undefined> {
    yield* this.process(batch, false);
  }

  /** Translates what is waiting, with no partner left to hope for. */
  *finish(): Generator<Step, void, undefined> {
    yield* this.process([], true);
  }

  /** The root is gone (deleted, moved away, unmounted): the last steps this translator gives. */
  stop(): Step[] {
    if (this.stopped) return [];
    this.stopped = true;
    this.waitingEvents = [];
    return [{ do: 'stop' }, emit({ type: 'root-gone' })];
  }

  private *process(batch: readonly RawInotifyEvent[], final: boolean): Generator<Step, void, undefined> {
    // Events that waited once are final: their partner would have been queued right after them.
    const waited = this.waitingEvents.length;
    const events = waited === 0 ? batch : [...this.waitingEvents, ...batch];
    this.waitingEvents = [];
    this.partners = new Set(events.filter((e) => e.mask & IN.MOVED_TO).map((e) => e.cookie));
    for (let i = 0; i < events.length && !this.stopped; i++) {
      const e = events[i] as RawInotifyEvent;
      if (!final && i >= waited && e.mask & IN.MOVED_FROM && !this.partners.has(e.cookie)) {
        // A MOVED_FROM already held for a partner among the waiting events stays held.
        this.waitingEvents = events.slice(i);
        return;
      }
      const steps: Step[] = [];
      if (this.exchange(e, events[i + 1], events[i + 2], steps)) i += 2;
      else this.handle(e, steps);
      yield* steps;
    }
    // Every event is translated: a MOVED_FROM still held lost its partner (never a silent drop).
    const unresolved = [...this.pending.values()];
    this.pending.clear();
    for (const from of unresolved) {
      const steps: Step[] = [];
      this.left(from.parent, from.name, from.path, from.isDir, steps);
      yield* steps;
    }
  }

  /**
   * `to` completes a rename a → b, and `back` and `forth` rename b → a: the kernel's two renames
   * of an exchange (renameat2 RENAME_EXCHANGE), queued back to back. Two renames made one after the
   * other look the same; treating them as an exchange is right for both (see `swapped`).
   */
  private exchange(
    to: RawInotifyEvent,
    back: RawInotifyEvent | undefined,
    forth: RawInotifyEvent | undefined,
    steps: Step[],
  ): boolean {
    if (!(to.mask & IN.MOVED_TO) || back === undefined || forth === undefined) return false;
    const from = this.pending.get(to.cookie);
    const dir = this.tree.get(to.wd);
    if (from === undefined || dir === undefined) return false;
    const swaps =
      back.mask & IN.MOVED_FROM &&
      forth.mask & IN.MOVED_TO &&
      back.cookie === forth.cookie &&
      back.wd === to.wd &&
      back.name === to.name &&
      this.tree.get(forth.wd) === from.parent &&
      forth.name === from.name;
    if (!swaps) return false;
    this.pending.delete(to.cookie);
    const toIsDir = (to.mask & IN.ISDIR) !== 0;
    const backIsDir = (back.mask & IN.ISDIR) !== 0;
    this.swapped(
      [
        { parent: from.parent, name: from.name, path: from.path, wasDir: toIsDir, isDir: backIsDir },
        {
          parent: dir,
          name: to.name,
          path: joinRel(this.tree.pathOf(dir), to.name),
          wasDir: backIsDir,
          isDir: toIsDir,
        },
      ],
      steps,
    );
    return true;
  }

  private handle(e: RawInotifyEvent, steps: Step[]): void {
    if (e.mask & IN.Q_OVERFLOW) {
      steps.push({ do: 'overflow' });
      return;
    }
    // A wd we no longer know (a directory just deleted or moved out) is ignored: sersync aborts here.
    // But a rename into such a directory took its source out of what we watch: a move-out.
    const node = this.tree.get(e.wd);
    if (node === undefined) {
      const from = e.mask & IN.MOVED_TO ? this.pending.get(e.cookie) : undefined;
      if (from !== undefined) {
        this.pending.delete(e.cookie);
        this.left(from.parent, from.name, from.path, from.isDir, steps);
      }
      return;
    }
    const isRoot = node === this.tree.root;
    if (e.mask & IN.IGNORED) {
      if (isRoot) steps.push(...this.stop());
      else this.tree.detach(node);
      return;
    }
    if (e.mask & (IN.DELETE_SELF | IN.MOVE_SELF | IN.UNMOUNT)) {
      if (isRoot) steps.push(...this.stop());
      return; // for any other directory the parent's watch reports it
    }
    if (e.name === '') {
      if (isRoot && e.mask & IN.ATTRIB) steps.push(emit({ type: 'attrib', path: '', isDir: true }));
      return; // likewise: a directory's own events are reported through its parent
    }
    this.handleEntry(node, e, steps);
  }

  private handleEntry(dir: DirNode, e: RawInotifyEvent, steps: Step[]): void {
    const path = joinRel(this.tree.pathOf(dir), e.name);
    const isDir = (e.mask & IN.ISDIR) !== 0;
    if (e.mask & IN.CREATE) {
      this.appeared(dir, e.name, path, isDir, steps);
      steps.push(emit({ type: 'create', path, isDir }));
    } else if (e.mask & IN.CLOSE_WRITE) {
      steps.push(emit({ type: 'write', path }));
    } else if (e.mask & IN.MODIFY) {
      steps.push(emit({ type: 'modify', path }));
    } else if (e.mask & IN.ATTRIB) {
      steps.push(emit({ type: 'attrib', path, isDir }));
    } else if (e.mask & IN.DELETE) {
      const child = isDir ? this.tree.childOf(dir, e.name) : undefined;
      if (child !== undefined) this.tree.detach(child); // the kernel has dropped its watches already
      steps.push(emit({ type: 'delete', path, isDir }));
    } else if (e.mask & IN.MOVED_FROM) {
      if (this.partners.has(e.cookie)) this.pending.set(e.cookie, { parent: dir, name: e.name, path, isDir });
      else this.left(dir, e.name, path, isDir, steps);
    } else if (e.mask & IN.MOVED_TO) {
      const from = this.pending.get(e.cookie);
      this.pending.delete(e.cookie);
      if (from === undefined) {
        this.appeared(dir, e.name, path, isDir, steps);
        steps.push(emit({ type: 'move-in', path, isDir }));
      } else if (this.replacedOrExchanged(from, dir, e.name, path, isDir, steps)) {
        return;
      } else {
        if (isDir) this.movedWithin(from, dir, e.name, path, steps);
        steps.push(emit({ type: 'rename', from: from.path, to: path, isDir }));
      }
    }
  }

  /** A new or moved-in directory is watched, subtree and all, before its event. */
  private appeared(dir: DirNode, name: RelPath, path: RelPath, isDir: boolean, steps: Step[]): void {
    if (isDir && !this.skipDir(path)) steps.push({ do: 'watch', parent: dir, name });
  }

  /** Moved out of the tree: its watches go now, so its later events are unknown wds. */
  private left(dir: DirNode, name: RelPath, path: RelPath, isDir: boolean, steps: Step[]): void {
    const node = isDir ? this.tree.childOf(dir, name) : undefined;
    if (node !== undefined) steps.push({ do: 'unwatch', wds: this.tree.detach(node) });
    steps.push(emit({ type: 'move-out', path, isDir }));
  }

  /**
   * A rename the tree as it was cannot explain, so another rename happened with it: an exchange
   * whose second rename comes in a later read (`exchange` sees them in one), or a directory renamed
   * over an empty one. A directory moved onto a watched directory's name; an entry that is not a
   * directory moved onto one (which rename(2) refuses: only an exchange does it); or one moved from
   * a name a directory holds (the first rename of an exchange brought it there). Which entry holds
   * which name is then known only from the tree as it is now: see `swapped`.
   */
  private replacedOrExchanged(
    from: PendingMove,
    dir: DirNode,
    name: RelPath,
    path: RelPath,
    isDir: boolean,
    steps: Step[],
  ): boolean {
    const atFrom = this.tree.childOf(from.parent, from.name);
    const atTo = this.tree.childOf(dir, name);
    const explained = isDir
      ? atTo === undefined || atTo === atFrom
      : atFrom === undefined && atTo === undefined;
    if (explained) return false;
    const fromName = { parent: from.parent, name: from.name, path: from.path };
    const toName = { parent: dir, name, path };
    this.swapped(
      isDir
        ? [
            { ...fromName, wasDir: true, isDir: true },
            { ...toName, wasDir: true, isDir: true },
          ]
        : [
            { ...fromName, wasDir: atFrom !== undefined, isDir: true },
            { ...toName, wasDir: true, isDir: false },
          ],
      steps,
    );
    return true;
  }

  /**
   * Names whose entries were swapped at once (renameat2's RENAME_EXCHANGE, `mv --exchange`: two
   * renames whose events cannot be read one after the other). Each name is watched again from a
   * scan, removed from the replica and sent whole: right whatever now holds it, or if nothing does.
   */
  private swapped(names: readonly SwappedName[], steps: Step[]): void {
    const wds = names.flatMap((n) => {
      const node = this.tree.childOf(n.parent, n.name);
      return node === undefined ? [] : this.tree.detach(node);
    });
    if (wds.length > 0) steps.push({ do: 'unwatch', wds });
    for (const n of names) this.appeared(n.parent, n.name, n.path, n.isDir, steps);
    for (const n of names) steps.push(emit({ type: 'move-out', path: n.path, isDir: n.wasDir }));
    for (const n of names) steps.push(emit({ type: 'move-in', path: n.path, isDir: n.isDir }));
  }

  /** A directory renamed within the tree keeps its watches; its subtree's paths follow it. */
  private movedWithin(from: PendingMove, dir: DirNode, name: RelPath, path: RelPath, steps: Step[]): void {
    const node = this.tree.childOf(from.parent, from.name);
    if (this.skipDir(path)) {
      if (node !== undefined) steps.push({ do: 'unwatch', wds: this.tree.detach(node) });
    } else if (node === undefined) {
      steps.push({ do: 'watch', parent: dir, name }); // it came from a directory we skip
    } else {
      const replaced = this.tree.move(node, dir, name);
      if (replaced.length > 0) steps.push({ do: 'unwatch', wds: replaced });
    }
  }
}

function emit(event: WatchEvent): Step {
  return { do: 'emit', event };
}
