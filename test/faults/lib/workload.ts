import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const WRITER = join(import.meta.dirname, 'writer.js');

/** A running `writer.js` (see there). */
export interface Writer {
  readonly child: ChildProcess;
  /** Resolves once the writer has done `tenths` tenths of its work. */
  progress(tenths: number): Promise<void>;
  /** Resolves when it has finished (rejects if it failed). */
  finished(): Promise<void>;
}

export function startWriter(args: readonly string[]): Writer {
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let reached = -1;
  let err = '';
  const waiters: { tenths: number; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    for (const m of chunk.matchAll(/progress (\d+)/g)) reached = Math.max(reached, Number(m[1]));
    for (const w of waiters.filter((x) => x.tenths <= reached)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => (err += c));
  const exit = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`writer ${args.join(' ')} exited ${String(code)}: ${err}`);
  });
  exit.catch(() => undefined); // observed by finished()
  return {
    child,
    progress(tenths) {
      if (reached >= tenths) return Promise.resolve();
      return Promise.race([
        new Promise<void>((resolve) => waiters.push({ tenths, resolve })),
        exit.then(() => undefined),
      ]);
    },
    finished: () => exit,
  };
}
