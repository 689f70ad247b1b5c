import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { packageFile } from '../package-files.js';
import type { RelPath } from '../paths.js';
import type { ProgressReporter, ProgressSubject, ProgressTrack } from './progress-report.js';
import type { ProgressMessage, ReportingTask } from './rsync-progress.js';
import { notRun, type RsyncResult, type RsyncTask } from './task.js';
import { CANNOT_RUN, lastErrorLine, THREAD_FAILED } from './exit-codes.js';

type Pool = Piscina<ReportingTask, RsyncResult>;

/** rsync could not be started (see `CANNOT_RUN`): not installed, or out of descriptors or processes. */
export interface RsyncRefusal {
  /** The first failed start of this spell (epoch ms). */
  readonly since: number;
  /** Runs that failed so since. */
  readonly runs: number;
  readonly why: string;
}

function startPiscina(maxConcurrent: number): Promise<Pool> {
  return import('piscina').then(({ Piscina }) => {
    const threads = Math.max(1, Math.min(2, availableParallelism(), maxConcurrent));
    return new Piscina({
      // The worker as one CommonJS file, named by path: piscina require()s it, so the thread boots
      // without Node's ES module loader (~25 ms sooner, and its first run with it).
      filename: packageFile('dist', 'workers', 'rsync.cjs'),
      minThreads: 1,
      maxThreads: threads,
      concurrentTasksPerWorker: Math.ceil(maxConcurrent / threads),
      idleTimeout: 60_000,
      // Piscina's run and wait histograms (~0.7 MB of native memory); nothing reads them.
      recordTiming: false,
    });
  });
}

/** A pool started by startRsyncPoolAhead, for the first RsyncPool of its size to take. */
let ahead: { readonly maxConcurrent: number; readonly pool: Promise<Pool> } | undefined;

/**
 * Starts the rsync thread before the config is read, so that it has booted (~0.1 s on its own
 * core) by the time the watches are set and the first change arrives. An idle thread does not keep
 * the process alive, so a start-up that fails before taking it still exits.
 */
export function startRsyncPoolAhead(maxConcurrent: number): void {
  ahead ??= { maxConcurrent, pool: startPiscina(maxConcurrent) };
}

/**
 * Runs rsync tasks on a piscina pool: at most `maxConcurrent` rsyncs at once over every tree and
 * remote (sersync's `-n`). Threads are few — each costs ~11 MB and rsync does the work in its own
 * process — and each runs several tasks concurrently. Piscina and its thread start at the first
 * task or `start()`, so that a start-up (or a command that never runs rsync) does not pay for them
 * before the watches are set.
 */
export class RsyncPool {
  private pool: Promise<Pool> | undefined;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private runs = 0;
  private refusal: RsyncRefusal | null = null;

  /** `progress`: where full syncs report how far they are (null: nowhere). */
  constructor(
    readonly maxConcurrent: number,
    private readonly progress: ProgressReporter | null = null,
  ) {}

  /** Starts the pool's thread (if not started yet), ready for the first task. */
  start(): Promise<Pool> {
    if (this.pool === undefined && ahead?.maxConcurrent === this.maxConcurrent) {
      this.pool = ahead.pool;
      ahead = undefined;
    }
    this.pool ??= startPiscina(this.maxConcurrent);
    return this.pool;
  }

  /**
   * Resolves true once a thread has booted and answered, false after `limitMs` without. A
   * replicator says it is watching only then, so that its first change does not wait for the
   * thread's boot (~50–130 ms, most of it after the watches are set on a small tree).
   */
  async ready(limitMs: number): Promise<boolean> {
    const pool = (await this.start()) as unknown as Piscina<null, true>; // the worker's `ready` export
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), limitMs);
    });
    try {
      return await Promise.race([pool.run(null, { name: 'ready' }), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs `task`; with a `subject` (a full sync) its progress goes to the pool's reporter; with
   * `onListed` (a send with trees), the paths its walks listed are handed to it before rsync
   * starts (they may also arrive after the result: the port is another channel).
   */
  async run(
    task: RsyncTask,
    subject?: ProgressSubject,
    onListed?: (paths: readonly RelPath[]) => void,
  ): Promise<RsyncResult> {
    const result = await this.dispatch(task, subject, onListed);
    if (result.exitCode === CANNOT_RUN)
      this.refusal = {
        since: this.refusal?.since ?? Date.now(),
        runs: (this.refusal?.runs ?? 0) + 1,
        why: lastErrorLine(result.stderr),
      };
    else if (result.ran) this.refusal = null;
    return result;
  }

  protected async dispatch(
    task: RsyncTask,
    subject?: ProgressSubject,
    onListed?: (paths: readonly RelPath[]) => void,
  ): Promise<RsyncResult> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    this.runs++;
    const started = performance.now();
    try {
      const track = subject === undefined ? undefined : this.progress?.begin(subject);
      const pool = await this.start();
      if (track !== undefined) return await this.runReporting(pool, task, track);
      if (onListed === undefined) return await pool.run(task);
      return await this.runListing(pool, task, onListed);
    } catch (err) {
      // The thread could not run it (an error before rsync started, or the thread died): a failed
      // run of this work, with its reason, retried as any other; not a fault of the queue.
      const why = err instanceof Error ? err.message : String(err);
      return notRun(THREAD_FAILED, `sersync2 could not run rsync: ${why}`, performance.now() - started);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async runListing(
    pool: Pool,
    task: RsyncTask,
    onListed: (paths: readonly RelPath[]) => void,
  ): Promise<RsyncResult> {
    const { port1, port2 } = new MessageChannel();
    port2.on('message', onListed);
    try {
      return await pool.run({ ...task, listedPort: port1 }, { transferList: [port1] });
    } finally {
      port2.close();
    }
  }

  /**
   * The worker posts progress on its end of a channel, the last update marked final, and closes it
   * whatever happened: a run not made (its replica's disk away, its root unusable) posts nothing.
   */
  private async runReporting(pool: Pool, task: RsyncTask, track: ProgressTrack): Promise<RsyncResult> {
    const { port1, port2 } = new MessageChannel();
    const last = new Promise<void>((resolve) => {
      port2.on('message', (m: ProgressMessage) => {
        track.update(m.progress);
        if (m.final) resolve();
      });
      port2.once('close', resolve);
    });
    try {
      const result = await pool.run({ ...task, progressPort: port1 }, { transferList: [port1] });
      await last; // posted before the result, on another port: it may still be on its way
      return result;
    } finally {
      port2.close();
      track.end();
    }
  }

  /** rsync runs started since the pool was made. */
  get started(): number {
    return this.runs;
  }

  get inFlight(): number {
    return this.running;
  }

  /** While rsync cannot be started (every run since `since` failed so), why; null once one starts. */
  get cannotStart(): RsyncRefusal | null {
    return this.refusal;
  }

  /** Waits for running tasks, then stops the threads. */
  async close(): Promise<void> {
    await (await this.pool)?.close();
  }
}
