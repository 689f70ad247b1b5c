import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { RsyncResult, RsyncTask } from './task.js';

/**
 * Runs rsync tasks on a piscina pool: at most `maxConcurrent` rsyncs at once over every tree and
 * remote (sersync's `-n`). Threads are few — each costs ~11 MB and rsync does the work in its own
 * process — and each runs several tasks concurrently.
 */
export class RsyncPool {
  private readonly pool: Piscina<RsyncTask, RsyncResult>;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private runs = 0;

  constructor(readonly maxConcurrent: number) {
    const threads = Math.max(1, Math.min(2, availableParallelism(), maxConcurrent));
    this.pool = new Piscina({
      filename: new URL('../../workers/rsync.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: threads,
      concurrentTasksPerWorker: Math.ceil(maxConcurrent / threads),
      idleTimeout: 60_000,
    });
  }

  async run(task: RsyncTask): Promise<RsyncResult> {
    if (this.running >= this.maxConcurrent) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    this.runs++;
    try {
      return await this.pool.run(task);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  /** rsync runs started since the pool was made. */
  get started(): number {
    return this.runs;
  }

  get inFlight(): number {
    return this.running;
  }

  /** Waits for running tasks, then stops the threads. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
