import { pino, type Logger } from 'pino';

export type { Logger };

export interface LogOptions {
  /** pino level: `debug` with `<debug start="true"/>`, else `info`. */
  readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Append JSON lines to this file; null writes to stderr. */
  readonly file: string | null;
}

/** The one structured logger: JSON lines, child loggers carry `{ root, remote }`. */
export function createLogger(opts: LogOptions): Logger {
  const dest = pino.destination({ dest: opts.file ?? 2, sync: opts.file === null, mkdir: true });
  return pino({ level: opts.level, base: { pid: process.pid } }, dest);
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
