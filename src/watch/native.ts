import { createRequire } from 'node:module';
import { packageFile } from '../package-files.js';

/** An open inotify instance of the native binding (opaque). */
export type InotifyHandle = object & { readonly __inotify: unique symbol };

/**
 * What `scan` found, entry by entry: entry 0 is the directory scanned, every other entry comes after
 * its parent (the index in `parent`). `wd`: > 0 watched; 0 only counted, below a directory the
 * watch limit stopped; -1 failed, with its error (or a failure to read the directory) in
 * `failures`. Names are byte strings (latin1, one char per byte), as RelPath.
 */
export interface ScanEntries {
  readonly parent: Int32Array;
  readonly wd: Int32Array;
  readonly name: readonly string[];
  readonly failures: readonly { readonly index: number; readonly error: NodeJS.ErrnoException }[];
}

/** The thin N-API binding in native/inotify.c. Failed calls throw with Node's `code`/`errno`/`syscall`. */
export interface InotifyBinding {
  /** inotify_init1(IN_NONBLOCK | IN_CLOEXEC), polled by libuv; each readable burst arrives as raw bytes. */
  open(onData: (err: Error | null, chunk?: Buffer) => void): InotifyHandle;
  /** inotify_add_watch on a path given as bytes; returns the wd. */
  addWatch(handle: InotifyHandle, path: Buffer, mask: number): number;
  rmWatch(handle: InotifyHandle, wd: number): void;
  /**
   * Watches `dir` and every directory below it, top-down (each watched before it is read), never
   * following a symlink, in one call: readdir's d_type says which entries are directories (lstat
   * where it cannot, and for every entry with `lstatAll`). `rel` is `dir` below the watch root
   * (latin1 bytes, '' for the root) and `dir` must be the root's path + '/' + rel: only the root is
   * looked up by path, each directory below it is opened from its parent's fd (O_NOFOLLOW) and
   * watched as /proc/self/fd/N, so a component swapped for a symlink fails with ELOOP instead of
   * being followed. `skip(rel)` true leaves a directory and all below it out.
   */
  scan(
    handle: InotifyHandle,
    dir: Buffer,
    rel: string,
    mask: number,
    lstatAll: boolean,
    skip: ((rel: string) => boolean) | null,
  ): ScanEntries;
  /**
   * Stops reading until resume(): the kernel queues the events meanwhile, and past
   * `fs.inotify.max_queued_events` drops them and queues IN_Q_OVERFLOW, so memory stays bounded.
   */
  pause(handle: InotifyHandle): void;
  resume(handle: InotifyHandle): void;
  /**
   * Closes the fd and frees the read buffer at once. A handle JavaScript can no longer reach is
   * closed by its finaliser too, but only when the garbage collector gets to it.
   */
  close(handle: InotifyHandle): void;
  /** Bytes of events the kernel holds for the descriptor, not yet read (FIONREAD); 0 once closed. */
  queued(handle: InotifyHandle): number;
  /** CLOCK_REALTIME_COARSE in ns: the clock the kernel stamps a file's mtime and ctime with. */
  fileClock(): bigint;
  /**
   * posix_spawnp of `file` (native/spawn.c): the child gets pipes as 0-2, `fd3` as 3 (none when
   * negative), `cwd` (this process's when empty), a session of its own when `newSession`, default
   * signals; `onExit` is called once it is reaped. Absent from a binding built before it was added.
   */
  spawnProcess?(
    file: string,
    argv: readonly string[],
    env: readonly string[],
    cwd: string,
    fd3: number,
    newSession: boolean,
    onExit: (code: number | null, signal: number | null) => void,
  ): { readonly pid: number; readonly stdin: number; readonly stdout: number; readonly stderr: number };
}

export type BindingLoad =
  { readonly ok: true; readonly binding: InotifyBinding } | { readonly ok: false; readonly reason: string };

/** Built by `npm install` (node-gyp, native/binding.gyp). */
export const ADDON_PATH = packageFile('native', 'build', 'Release', 'sersync_inotify.node');

let loaded: BindingLoad | undefined;

/** Loads the addon once; says why when it cannot (not Linux, not built, built for another Node). */
export function loadInotifyBinding(): BindingLoad {
  loaded ??= loadBindingFrom(ADDON_PATH);
  return loaded;
}

export function loadBindingFrom(file: string): BindingLoad {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `inotify needs Linux (this is ${process.platform})` };
  }
  try {
    return { ok: true, binding: createRequire(import.meta.url)(file) as InotifyBinding };
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { ok: false, reason: `the native inotify binding did not load (${file}): ${detail ?? ''}` };
  }
}

/** The errno name ('ENOSPC', 'ENOENT', …) a failed binding or fs call carries, if any. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
