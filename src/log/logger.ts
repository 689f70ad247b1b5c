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

type Destination = ReturnType<typeof pino.destination>;

/**
 * Where the JSON lines go, written synchronously (a line per batch, not per file) with its errors
 * heard: pino's asynchronous destination flushes at exit in a loop that retries any error, so a
 * full disk hung the stop for good, and an error of either kind was thrown where nothing caught it
 * (sersync2 died, or hung, when the disk of its log, or of the file its stderr was sent to, filled
 * up). A line that cannot be written waits (up to UNWRITTEN_MAX) and goes with the next one that
 * can; meanwhile `trouble` says so, for status.
 */
class LogSink {
  trouble: LogTrouble | null = null;

  constructor(
    /** Told once when the writes begin to fail (null: nowhere else to tell it). */
    private readonly failing: ((err: Error) => void) | null,
    /** Told when they work again (from outside the destination's own write). */
    private readonly back: (was: LogTrouble) => void,
  ) {}

  open(fd: number): Destination {
    const d = pino.destination({ fd, sync: true, maxLength: UNWRITTEN_MAX });
    d.on('error', (err: Error) => {
      if (this.trouble === null) this.failing?.(err);
      this.trouble = {
        since: this.trouble?.since ?? Date.now(),
        error: err.message,
        dropped: this.trouble?.dropped ?? 0,
      };
    });
    d.on('drop', () => {
      if (this.trouble !== null) this.trouble = { ...this.trouble, dropped: this.trouble.dropped + 1 };
    });
    d.on('write', () => {
      const was = this.trouble;
      if (was === null) return;
      this.trouble = null;
      setImmediate(() => {
        this.back(was);
      });
    });
    return d;
  }
}

/** The one structured logger: JSON lines to a file or pipe, readable lines on a terminal. */
export function openLog(opts: LogOptions): Log {
  const options = { level: opts.level, base: { pid: process.pid } };
  let logger: Logger | null = null;
  const back = (was: LogTrouble): void =>
    logger?.warn(
      { since: new Date(was.since).toISOString(), error: was.error, dropped: was.dropped },
      'the log can be written again',
    );
  const file = opts.file;
  if (file !== null) {
    const sink = new LogSink((err) => {
      process.stderr.write(
        `sersync2: cannot write the log file ${file}: ${err.message}; replication goes on, and the log lines wait for it\n`,
      );
    }, back);
    // pino is handed the descriptor `openAppend` checked, never the name, which another could
    // point elsewhere between a check and pino's own open; a reopen swaps in a new checked one.
    const open = (): Destination => sink.open(openAppend(file, 'log file'));
    let dest = open();
    const stream: DestinationStream & { flush: (cb: (err?: Error) => void) => void } = {
      write: (line) => dest.write(line),
      flush: (cb) => {
        dest.flush(cb);
      },
    };
    const fileLogger = pino(options, stream);
    logger = fileLogger;
    return {
      logger: fileLogger,
      reopen: () => {
        try {
          const old = dest;
          dest = open();
          // its last lines go to the file it had open (the rotated one), unless that one cannot be written
          if (sink.trouble === null) old.end();
          else old.destroy();
        } catch (err) {
          fileLogger.error({ err }, 'cannot reopen the log file: still writing to the one open');
        }
      },
      trouble: () => sink.trouble,
    };
  }
  if (process.stderr.isTTY) {
    const terminal = opts.terminal ?? ((text: string) => process.stderr.write(text));
    const write = (line: string): void => {
      terminal(humanLine(line));
    };
    return { logger: pino(options, { write }), reopen: () => undefined, trouble: () => null };
  }
  // stderr: the journal's pipe under systemd, or the file an init script sends it to
  const sink = new LogSink(null, back);
  const stderrLogger = pino(options, sink.open(2));
  logger = stderrLogger;
  return { logger: stderrLogger, reopen: () => undefined, trouble: () => sink.trouble };
}

/** A logger on stderr (see `openLog`). */
export function createLogger(opts: LogOptions): Logger {
  return openLog(opts).logger;
}

/** A logger that drops everything, for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
