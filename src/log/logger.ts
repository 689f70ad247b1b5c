import { pino, type DestinationStream, type Logger } from 'pino';
import { openAppend } from '../owned-files.js';

export type { Logger };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface LogOptions {
  /** `debug` with `<debug start="true"/>`, else `info`. */
  readonly level: LogLevel;
  /** Append JSON lines to this file; null writes to stderr (readable lines when it is a terminal). */
  readonly file: string | null;
  /** Where readable lines go when stderr is a terminal (default: stderr; progress bars put them above themselves). */
  readonly terminal?: (text: string) => void;
}

export interface Log {
  readonly logger: Logger;
  /** Reopens the log file (after logrotate moved it; SIGUSR1). */
  readonly reopen: () => void;
  /** While the log file cannot be written, since when and why; null when it can (or there is none). */
  readonly trouble: () => LogTrouble | null;
}

/** The log file cannot be written (its disk full, an I/O error): replication goes on regardless. */
export interface LogTrouble {
  readonly since: number;
  readonly error: string;
  /** Lines dropped meanwhile: more than `UNWRITTEN_MAX` bytes waited. */
  readonly dropped: number;
}

/** How much of the log waits in memory while its file cannot be written; later lines are dropped. */
const UNWRITTEN_MAX = 16 * 1024 * 1024;

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** One JSON log line as a person reads it: `2026-11-22 00:18:40.123 INFO  synced remote=… ms=3`. */
export function humanLine(json: string): string {
  const o = JSON.parse(json) as Record<string, unknown>;
  const time = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const stamp = `${time.toISOString().slice(0, 10)} ${time.toTimeString().slice(0, 8)}.${String(time.getMilliseconds()).padStart(3, '0')}`;
  const fields = Object.entries(o)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => {
      if (k === 'err' && typeof v === 'object' && v !== null)
        return `err=${JSON.stringify((v as { message?: unknown }).message)}`;
      return `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`;
    });
  const level = typeof o.level === 'number' ? (LEVEL_NAMES[o.level] ?? String(o.level)) : '?';
  const msg = typeof o.msg === 'string' ? o.msg : '';
  return `${stamp} ${level} ${msg}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}\n`;
}

/** The one structured logger: JSON lines to a file or pipe, readable lines on a terminal. */
export function openLog(opts: LogOptions): Log {
  const file = opts.file;
  if (file !== null) {
    // pino is handed the descriptor `openAppend` checked, never the name, which another could
    // point elsewhere between a check and pino's own open; a reopen swaps in a new checked one.
    // Written synchronously (a line per batch, not per file): pino's asynchronous destination
    // flushes at exit in a loop that retries any error, so a full disk hung the stop for good, and
    // its write errors were thrown where nothing caught them. A line that cannot be written waits
    // (up to UNWRITTEN_MAX) and goes with the next one that can.
    let trouble: LogTrouble | null = null;
    const open = (): ReturnType<typeof pino.destination> => {
      const d = pino.destination({ fd: openAppend(file, 'log file'), sync: true, maxLength: UNWRITTEN_MAX });
      d.on('error', (err: Error) => {
        if (trouble === null)
          process.stderr.write(
            `sersync2: cannot write the log file ${file}: ${err.message}; replication goes on, and the log lines wait for it\n`,
          );
        trouble = { since: trouble?.since ?? Date.now(), error: err.message, dropped: trouble?.dropped ?? 0 };
      });
      d.on('drop', () => {
        if (trouble !== null) trouble = { ...trouble, dropped: trouble.dropped + 1 };
      });
      d.on('write', () => {
        if (trouble === null) return;
        const was = trouble;
        trouble = null;
        // not from within the destination's own write
        setImmediate(() =>
          logger.warn(
            { since: new Date(was.since).toISOString(), error: was.error, dropped: was.dropped },
            'the log file can be written again',
          ),
        );
      });
      return d;
    };
    let dest = open();
    const stream: DestinationStream & { flush: (cb: (err?: Error) => void) => void } = {
      write: (line) => dest.write(line),
      flush: (cb) => {
        dest.flush(cb);
      },
    };
    const logger = pino({ level: opts.level, base: { pid: process.pid } }, stream);
    return {
      logger,
      reopen: () => {
        try {
          const old = dest;
          dest = open();
          // its last lines go to the file it had open (the rotated one), unless that one cannot be written
          if (trouble === null) old.end();
          else old.destroy();
        } catch (err) {
          logger.error({ err }, 'cannot reopen the log file: still writing to the one open');
        }
      },
      trouble: () => trouble,
    };
  }
  const terminal = opts.terminal ?? ((text: string) => process.stderr.write(text));
  const stream: DestinationStream = process.stderr.isTTY
    ? {
        write: (line: string) => {
          terminal(humanLine(line));
        },
      }
    : pino.destination({ dest: 2, sync: true });
  return {
    logger: pino({ level: opts.level, base: { pid: process.pid } }, stream),
    reopen: () => undefined,
    trouble: () => null,
  };
}

/** A logger on stderr (see `openLog`). */
export function createLogger(opts: LogOptions): Logger {
  return openLog(opts).logger;
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
