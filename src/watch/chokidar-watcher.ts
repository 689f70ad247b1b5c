import type { Stats } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FSWatcher } from 'chokidar';
import { SersyncError } from '../errors.js';
import { fromUtf8, isWithin, type RelPath } from '../paths.js';
import { errnoCode } from './native.js';
import {
  MAX_DRAIN_MS,
  type Watcher,
  type WatcherOptions,
  type WatchEvent,
  type WatchHealth,
  type WatchStats,
} from './types.js';
import { watchLimitError } from './watch-limit.js';

/** How long chokidar must stay silent before a stop trusts it has reported what came before. */
const QUIET_MS = 250;

/**
 * The portable fallback, on chokidar 5, behind the same interface. Known gaps against the inotify
 * watcher (chokidar cannot see them): no `rename` (a move is delete + create), no `move-in`/
 * `move-out` (they are create/delete), `write` for any content or metadata change (no `modify`,
 * no `attrib`), no `overflow` (libuv drops it), names that are not UTF-8 arrive mangled, and a new
 * directory is reported before it is watched (chokidar#1471), so files written into it at once
 * can be missed. It also holds one inotify watch per file, not per directory.
 */
export class ChokidarWatcher implements Watcher {
  private fsw: FSWatcher | undefined;
  private root = '';
  private readonly dirs = new Set<RelPath>();
  private queued: WatchEvent[] = [];
  private ready = false;
  private closed = false;
  private gone = false;
  private limitReported = false;
  private failedBeforeReady = 0;
  /** When chokidar last reported a change (performance.now()). */
  private lastEventAt = 0;

  constructor(private readonly opts: WatcherOptions) {}

  async start(): Promise<WatchStats> {
    const started = performance.now();
    this.root = await realpath(this.opts.root).catch((err: unknown) => {
      throw new SersyncError('ERR_SERSYNC_WATCH', `cannot watch ${this.opts.root}: ${String(err)}`, {
        cause: err,
      });
    });
    // Loaded here: only a host without the native binding (or a config asking for it) needs it.
    const { watch } = await import('chokidar');
    const fsw = watch(this.root, {
      atomic: false,
      ignoreInitial: true,
      followSymlinks: false,
      ignored: (path: string, stats?: Stats) =>
        stats?.isDirectory() === true && this.opts.skipDir(this.rel(path)),
    });
    this.fsw = fsw;
    fsw.on('add', (p) => this.push({ type: 'create', path: this.rel(p), isDir: false }));
    fsw.on('addDir', (p) => this.push({ type: 'create', path: this.rel(p), isDir: true }));
    fsw.on('change', (p) => this.push({ type: 'write', path: this.rel(p) }));
    fsw.on('unlink', (p) => this.push({ type: 'delete', path: this.rel(p), isDir: false }));
    fsw.on('unlinkDir', (p) => this.push({ type: 'delete', path: this.rel(p), isDir: true }));
    fsw.on('error', (err: unknown) => {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    });
    await new Promise<void>((resolve) => fsw.once('ready', resolve));
    this.ready = true;
    for (const dir of Object.keys(fsw.getWatched())) {
      if (dir === this.root || dir.startsWith(`${this.root}/`)) this.dirs.add(this.rel(dir));
    }
    if (this.failedBeforeReady > 0) {
      const needed = this.watchedPaths() + this.failedBeforeReady;
      await this.close();
      throw watchLimitError(needed, this.root);
    }
    return { backend: 'chokidar', directories: this.dirs.size, readyMs: performance.now() - started };
  }

  /** chokidar says nothing of what it could not watch (its gaps are in the class comment). */
  health(): WatchHealth {
    return { gaps: [], unwatchedDirectories: 0 };
  }

  watchedDirectories(): number {
    return this.dirs.size;
  }

  /**
   * chokidar tells nothing of what it still holds (events libuv has not read yet, stats in flight):
   * the most a stop can do is wait until it has said nothing for QUIET_MS. False when the tree kept
   * changing for MAX_DRAIN_MS.
   */
  async drain(): Promise<boolean> {
    const started = performance.now();
    for (;;) {
      const now = performance.now();
      const quietFor = Math.min(now - this.lastEventAt, now - started);
      if (quietFor >= QUIET_MS) break;
      if (now - started >= MAX_DRAIN_MS) return false;
      await sleep(QUIET_MS - quietFor);
    }
    this.flush();
    return !this.closed;
  }

  /**
   * chokidar tells nothing of what it still holds: a change it has not reported within QUIET_MS
   * counts as made after the call.
   */
  async settled(): Promise<void> {
    await sleep(QUIET_MS);
    this.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queued = [];
    await this.fsw?.close();
  }

  /** Test hook: reports an overflow as the inotify watcher would (chokidar never sees one). */
  injectOverflow(): void {
    this.push({ type: 'overflow' });
  }

  private push(event: WatchEvent): void {
    if (this.closed || this.gone) return;
    if (event.type === 'delete' && event.path === '') {
      this.gone = true; // chokidar then stays silent forever, even if the root comes back
      event = { type: 'root-gone' };
    }
    this.lastEventAt = performance.now();
    this.track(event);
    if (this.queued.push(event) === 1) setImmediate(() => this.flush());
  }

  private flush(): void {
    const events = this.queued;
    this.queued = [];
    if (events.length > 0 && !this.closed) this.opts.onEvents(events);
  }

  private track(event: WatchEvent): void {
    if (event.type === 'create' && event.isDir) this.dirs.add(event.path);
    if (event.type === 'delete' && event.isDir) {
      for (const dir of this.dirs) if (isWithin(dir, event.path)) this.dirs.delete(dir);
    }
    if (event.type === 'root-gone') this.dirs.clear();
  }

  private onError(err: Error): void {
    if (this.closed) return;
    if (errnoCode(err) !== 'ENOSPC') {
      this.opts.onError(new SersyncError('ERR_SERSYNC_WATCH', `chokidar: ${err.message}`, { cause: err }));
    } else if (!this.ready) {
      this.failedBeforeReady++; // start() reports them all at once
    } else if (!this.limitReported) {
      this.limitReported = true;
      this.opts.onError(watchLimitError(this.watchedPaths() + 1, this.root));
    }
  }

  /** Files and directories chokidar holds a watch for (each entry is listed in its parent's). */
  private watchedPaths(): number {
    const watched = Object.values(this.fsw?.getWatched() ?? {});
    return watched.reduce((sum, names) => sum + names.length, 0);
  }

  private rel(path: string): RelPath {
    return fromUtf8(relative(this.root, path));
  }
}
