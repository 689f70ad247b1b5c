/**
 * How sersync2 starts a program (rsync, a plugin's command): by the native binding's posix_spawn
 * (native/spawn.c) instead of libuv's fork, which copies the page tables of the whole process
 * while the event loop waits. The child has the same streams and events as Node's ChildProcess
 * where the callers use them (`pid`, `stdin`, `stdout`, `stderr`, `kill`, 'error', 'exit',
 * 'close'). A failure to start is thrown, with the errno's `code` (ENOENT, EMFILE, EAGAIN …), where
 * Node's comes on 'error'.
 */
import { spawn as nodeSpawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { refusedForPipes } from './process-start.js';
import { loadInotifyBinding, type BindingLoad, type InotifyBinding } from './watch/native.js';

/** What callers use of a started child process: Node's ChildProcess and `SpawnedChild` alike. */
export interface StartedChild extends EventEmitter {
  readonly pid?: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  kill(signal?: NodeJS.Signals): boolean;
  on(event: 'close' | 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export interface PosixSpawnOptions {
  /** This process's when absent. */
  readonly cwd?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Becomes the child's fd 3; none when absent. */
  readonly fd3?: number;
  /** A session and process group of its own (a plugin's program, whose group a timeout kills). */
  readonly newSession?: boolean;
  /** Aborting it kills the child (SIGTERM), as Node's `signal` option does. */
  readonly signal?: AbortSignal | undefined;
}

type Spawn = NonNullable<InotifyBinding['spawnProcess']>;

let spawnFn: Spawn | null | undefined;

/** The binding's spawn, or null when it is not there (not Linux, not built, built before it). */
function spawnOf(load: BindingLoad): Spawn | null {
  return load.ok && typeof load.binding.spawnProcess === 'function'
    ? load.binding.spawnProcess.bind(load.binding)
    : null;
}

function nativeSpawn(): Spawn | null {
  if (spawnFn === undefined) spawnFn = spawnOf(loadInotifyBinding());
  return spawnFn;
}

/** Whether `posixSpawn` can start processes here. */
export function canPosixSpawn(): boolean {
  return nativeSpawn() !== null;
}

/**
 * How programs start here, and what the operator is told when it is the slower way: never silent,
 * as the watcher's fallback is not.
 */
export function describeChildStart(load: BindingLoad = loadInotifyBinding()): {
  readonly by: 'posix_spawn' | 'fork';
  readonly note: string | null;
} {
  if (spawnOf(load) !== null) return { by: 'posix_spawn', note: null };
  const why = load.ok ? 'the native binding was built from an older sersync-ts' : load.reason;
  return {
    by: 'fork',
    note:
      `rsync and plugin commands start by Node's spawn, a fork of this process (each ~5 ms later, the event loop waiting meanwhile): ${why}. ` +
      '`npm rebuild` where sersync2 is installed builds the binding.',
  };
}

const SIGNAL_NAMES = new Map(
  Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals] as const),
);

/** A child started by `posixSpawn`: emits 'exit', then 'close' (code, signal) once its output has ended. */
export class SpawnedChild extends EventEmitter implements StartedChild {
  readonly pid: number;
  readonly stdin: Socket;
  readonly stdout: Socket;
  readonly stderr: Socket;
  private exited = false;

  /** Throws (with the errno's `code`) when the child did not start. */
  constructor(spawn: Spawn, command: string, args: readonly string[], opts: PosixSpawnOptions) {
    super();
    const env = Object.entries(opts.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
    let ended: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let open = 2;
    const closed = (): void => {
      if (ended !== null && open === 0) this.emit('close', ended.code, ended.signal);
    };
    const abort = (): void => {
      this.kill('SIGTERM');
      const err = Object.assign(new Error('The operation was aborted'), {
        name: 'AbortError',
        code: 'ABORT_ERR',
        cause: opts.signal?.reason as unknown,
      });
      this.emit('error', err);
    };
    const started = spawn(
      command,
      [command, ...args],
      env,
      opts.cwd ?? '',
      opts.fd3 ?? -1,
      opts.newSession === true,
      (code, signal) => {
        this.exited = true;
        ended = { code, signal: signal === null ? null : (SIGNAL_NAMES.get(signal) ?? null) };
        opts.signal?.removeEventListener('abort', abort);
        this.emit('exit', ended.code, ended.signal);
        closed();
      },
    );
    this.pid = started.pid;
    this.stdin = new Socket({ fd: started.stdin, readable: false, writable: true });
    this.stdout = new Socket({ fd: started.stdout, readable: true, writable: false });
    this.stderr = new Socket({ fd: started.stderr, readable: true, writable: false });
    for (const s of [this.stdout, this.stderr])
      s.once('close', () => {
        open--;
        closed();
      });
    if (opts.signal?.aborted === true) process.nextTick(abort);
    else opts.signal?.addEventListener('abort', abort, { once: true });
  }

  /** Signals the child until it has been reaped (its pid cannot be another's before that). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Starts `command args` by posix_spawn; null when the binding cannot (see `canPosixSpawn`). Throws
 * (with the errno's `code`: ENOENT, EMFILE, EAGAIN …) when the child did not start.
 */
export function posixSpawn(
  command: string,
  args: readonly string[],
  opts: PosixSpawnOptions,
): SpawnedChild | null {
  const spawn = nativeSpawn();
  return spawn === null ? null : new SpawnedChild(spawn, command, args, opts);
}

/**
 * Starts `command args` (never through a shell): by posix_spawn where the binding can, else by
 * Node's spawn (see `describeChildStart`). When no process started (not installed, out of
 * descriptors or processes), resolves with why instead.
 */
export function startChild(
  command: string,
  args: readonly string[],
  opts: PosixSpawnOptions,
): StartedChild | Promise<Error> {
  try {
    const child = posixSpawn(command, args, opts);
    if (child !== null) return child;
  } catch (err) {
    return Promise.resolve(err as Error);
  }
  const child = nodeSpawn(command, args, {
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
    env: opts.env,
    stdio: ['pipe', 'pipe', 'pipe', ...(opts.fd3 === undefined ? [] : [opts.fd3])],
    detached: opts.newSession === true,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  return refusedForPipes(child) ?? (child as StartedChild);
}
