import { startChild } from '../posix-spawn.js';
import { isExhaustion, whyNotStarted } from '../process-start.js';
import { PluginError } from './errors.js';

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last bytes the program wrote to stdout and stderr, for the log. */
  readonly output: string;
}

/** How much of a program's output is kept for the log. */
const OUTPUT_TAIL_BYTES = 2048;
/** After SIGTERM, how long a program gets before SIGKILL. */
const KILL_GRACE_MS = 1000;
/** After exit, how long to wait for the output pipes (a backgrounded grandchild may hold them). */
const PIPE_GRACE_MS = 100;

/**
 * Runs `argv` directly (no shell) in a session and process group of its own, so that a timeout or
 * an abort kills the whole group: a script's own children included. Its stdin is a pipe closed at
 * once (it reads end of file, as from /dev/null). Resolves with how it ended; rejects (with a
 * `PluginError`) only when the program could not be started or had to be killed.
 */
export function runChild(
  argv: readonly string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ChildResult> {
  const [program, ...args] = argv;
  if (program === undefined) return Promise.reject(new PluginError('empty command line'));
  return new Promise((resolve, reject) => {
    const cannotRun = (err: Error): PluginError =>
      // out of descriptors or processes: it heals, so the event is tried again
      new PluginError(`cannot run ${program}: ${whyNotStarted(err, program)}`, {}, isExhaustion(err), {
        cause: err,
      });
    const child = startChild(program, args, { env: process.env, newSession: true });
    if (child instanceof Promise) {
      void child.then((err) => reject(cannotRun(err)));
      return;
    }
    child.stdin.on('error', () => undefined); // a program that exits at once: nothing was to be written
    child.stdin.end();
    let tail = Buffer.alloc(0);
    const keep = (chunk: Buffer): void => {
      tail = Buffer.concat([tail, chunk]);
      if (tail.length > OUTPUT_TAIL_BYTES) tail = tail.subarray(tail.length - OUTPUT_TAIL_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);

    let killedFor: string | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    const terminate = (why: string): void => {
      if (killedFor !== null) return;
      killedFor = why;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => {
        killGroup('SIGKILL');
      }, KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      terminate(`timed out after ${timeoutMs / 1000} s`);
    }, timeoutMs);
    const onAbort = (): void => {
      terminate('shut down');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();

    const cleanup = (): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
    };
    child.on('error', (err) => {
      cleanup();
      reject(cannotRun(err));
    });
    child.on('exit', (code, sig) => {
      cleanup();
      // What it started in its group must not outlive a killed command.
      if (killedFor !== null) killGroup('SIGKILL');
      const settle = (): void => {
        child.stdout.destroy();
        child.stderr.destroy();
        const output = tail.toString('utf8');
        if (killedFor !== null)
          reject(new PluginError(`command ${killedFor}: killed`, { signal: sig, output }));
        else resolve({ code, signal: sig, output });
      };
      const pipesGrace = setTimeout(settle, PIPE_GRACE_MS);
      child.once('close', () => {
        clearTimeout(pipesGrace);
        settle();
      });
    });
  });
}
