import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { fromUtf8, isWithin, pathBytes, type RelPath } from '../../src/paths.js';
import { createWatcher } from '../../src/watch/index.js';
import type { Watcher, WatcherOptions, WatchEvent, WatchStats } from '../../src/watch/types.js';
import { tempDir } from '../helpers/tmp.js';

export const BACKENDS = ['inotify', 'chokidar'] as const;
export type Backend = (typeof BACKENDS)[number];

/** What a backend cannot do, by feature: a test that needs it is skipped with the reason. */
export type Feature =
  'rename' | 'move' | 'modify' | 'attrib' | 'overflow' | 'bytes' | 'newDirRace' | 'rootMove';

export const GAPS: Record<Backend, Partial<Record<Feature, string>>> = {
  inotify: {},
  chokidar: {
    rename: 'known gap: chokidar cannot pair renames (a move is unlink + add)',
    move: 'known gap: chokidar reports moves in and out of the tree as add/unlink',
    modify: 'known gap: chokidar cannot tell IN_MODIFY from IN_CLOSE_WRITE',
    attrib: 'known gap: chokidar reports an attribute change as a content change',
    overflow: 'known gap: libuv drops IN_Q_OVERFLOW, chokidar never sees one',
    bytes: 'known gap: fs.watch decodes names as UTF-8, so non-UTF-8 names arrive mangled',
    newDirRace:
      'known gap: chokidar#1471, a new directory is reported and scanned before it is watched; files written into it meanwhile are lost for good',
    rootMove: 'known gap: chokidar does not notice its root being moved away',
  },
};

/** `{ skip: reason }` when `backend` lacks `feature`. */
export function needs(backend: Backend, ...features: Feature[]): { skip?: string } {
  const gap = features.map((f) => GAPS[backend][f]).find((g) => g !== undefined);
  return gap === undefined ? {} : { skip: gap };
}

/** Events as they arrive, with a way to wait (event-driven, with a deadline) for a condition. */
export class EventLog {
  readonly events: WatchEvent[] = [];
  readonly errors: Error[] = [];
  /** watchedDirectories() at the moment each event was delivered. */
  readonly watchedAt: number[] = [];
  private readonly waiters = new Set<() => void>();
  private barriers = 0;

  constructor(private readonly watched: () => number) {}

  readonly onEvents = (batch: readonly WatchEvent[]): void => {
    const watched = this.watched();
    for (const e of batch) {
      this.events.push(e);
      this.watchedAt.push(watched);
    }
    this.wake();
  };

  readonly onError = (err: Error): void => {
    this.errors.push(err);
    this.wake();
  };

  /** Resolves once `holds(events)` is true; rejects after `ms` naming `what` and what did arrive. */
  until(
    holds: (events: readonly WatchEvent[]) => boolean,
    what: string | (() => string),
    ms = 5000,
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!holds(this.events)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.events.slice(-20).map(describe).join(', ');
        const wanted = typeof what === 'string' ? what : what();
        const errors = this.errors.map((e) => e.message).join('; ') || 'none';
        reject(
          new Error(
            `timed out waiting for ${wanted}; ${this.events.length} events, errors: ${errors}, last: ${seen}`,
          ),
        );
      }, ms);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves when an event matching `match` has arrived. */
  waitFor(match: Partial<Record<string, unknown>>, ms?: number): Promise<void> {
    return this.until((evs) => evs.some((e) => matches(e, match)), describe(match), ms);
  }

  /**
   * Creates a new file in `root` and waits for its event: everything the watcher saw before that
   * write has then been delivered. Returns the number of events before the barrier's.
   */
  async barrier(root: string): Promise<number> {
    const name = `.barrier-${++this.barriers}`;
    writeFileSync(`${root}/${name}`, '');
    await this.waitFor({ type: 'create', path: name });
    return this.events.findIndex((e) => matches(e, { type: 'create', path: name }));
  }

  private wake(): void {
    for (const check of [...this.waiters]) check();
  }
}

export function matches(e: WatchEvent, match: Partial<Record<string, unknown>>): boolean {
  const fields = e as unknown as Record<string, unknown>;
  return Object.entries(match).every(([k, v]) => fields[k] === v);
}

function describe(e: object): string {
  return JSON.stringify(e);
}

export interface Watched {
  readonly root: string;
  readonly watcher: Watcher;
  readonly stats: WatchStats;
  readonly log: EventLog;
}

/**
 * Runs `body` with a started watcher on a fresh temporary tree (made by `setup`), then closes the
 * watcher and removes the tree.
 */
export async function withWatcher(
  backend: Backend,
  body: (w: Watched) => Promise<void> | void,
  options: {
    setup?: (root: string) => void;
    skipDir?: (rel: RelPath) => boolean;
    xfs?: boolean;
    /** On tmpfs: for tests that write thousands of files (this machine's disk takes ~0.3 ms a file). */
    inMemory?: boolean;
  } = {},
): Promise<void> {
  const tmp =
    options.inMemory === true && existsSync('/dev/shm') ? await shmDir() : await tempDir('sersync-watch-');
  const root = `${tmp.path}/root`;
  let watcher: Watcher | undefined;
  try {
    mkdirSync(root);
    options.setup?.(root);
    const log = new EventLog(() => watcher?.watchedDirectories() ?? 0);
    const opts: WatcherOptions = {
      root,
      xfs: options.xfs ?? false,
      skipDir: options.skipDir ?? (() => false),
      onEvents: log.onEvents,
      onError: log.onError,
    };
    watcher = createWatcher(backend, opts);
    const stats = await watcher.start();
    await body({ root, watcher, stats, log });
  } finally {
    await watcher?.close();
    await tmp.remove();
  }
}

/** A temporary directory on tmpfs; removed by rm(1), five times faster than fs.rm on 100k files. */
async function shmDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp('/dev/shm/sersync-watch-');
  const remove = async (): Promise<void> => {
    const rm = spawn('rm', ['-rf', '--', path], { stdio: 'inherit' });
    await once(rm, 'exit');
  };
  return { path, remove };
}

/** `root/rel` as bytes, for names that are not UTF-8. */
export function bytePath(root: string, rel: RelPath): Buffer {
  return Buffer.concat([Buffer.from(`${root}/`), pathBytes(rel)]);
}

/** `rel` (plain text) as the byte string a watcher reports. */
export const rel = fromUtf8;

/**
 * Which of `files` are neither reported themselves nor covered by the create/move-in/rename of an
 * ancestor directory (the watcher announces a directory once it is watched, and the consumer's
 * recursive sync then covers the files written into it before). An overflow covers everything:
 * it demands a full resync. Fed incrementally, so a burst of events costs linear time.
 */
export class Coverage {
  private readonly missing: Set<RelPath>;

  /** `seen`: events already in the log before these files were written. */
  constructor(
    files: readonly RelPath[],
    private seen = 0,
  ) {
    this.missing = new Set(files);
  }

  /** A few of the files still uncovered, to explain a failure. */
  sample(count = 3): RelPath[] {
    return [...this.missing].slice(0, count);
  }

  /** Takes the events not seen yet; returns how many files are still uncovered. */
  uncovered(events: readonly WatchEvent[]): number {
    for (; this.seen < events.length && this.missing.size > 0; this.seen++) {
      this.take(events[this.seen] as WatchEvent);
    }
    return this.missing.size;
  }

  private take(e: WatchEvent): void {
    if (e.type === 'overflow') this.missing.clear();
    else if ((e.type === 'create' || e.type === 'move-in') && e.isDir) this.coverBelow(e.path);
    else if (e.type === 'rename' && e.isDir) this.coverBelow(e.to);
    else if (e.type === 'rename') this.missing.delete(e.to);
    else if ('path' in e) this.missing.delete(e.path);
  }

  private coverBelow(dir: RelPath): void {
    for (const f of this.missing) if (isWithin(f, dir)) this.missing.delete(f);
  }
}
