/**
 * Every error the program reports on purpose carries a stable code and the context an operator
 * needs; the CLI prints `message` once and exits, with a stack trace only when debugging.
 */
export class SersyncError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A config file that cannot be used: names the file, line and column when known (line 0: not known). */
export class ConfigError extends SersyncError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super('ERR_SERSYNC_CONFIG', line > 0 ? `${file}:${line}:${column}: ${detail}` : `${file}: ${detail}`);
  }
}

/** The kernel refused a watch because `fs.inotify.max_user_watches` is exhausted. */
export class WatchLimitError extends SersyncError {
  constructor(
    readonly limit: number,
    readonly needed: number,
    readonly root: string,
  ) {
    super(
      'ERR_SERSYNC_WATCH_LIMIT',
      `cannot watch ${root}: fs.inotify.max_user_watches is ${limit}, and this tree needs at least ${needed} ` +
        `(one per directory, shared with every other inotify user). Raise it with: ` +
        `sysctl -w fs.inotify.max_user_watches=${Math.max(limit * 2, needed * 2)} ` +
        `(persist it in /etc/sysctl.d/90-sersync.conf)`,
    );
  }
}

/**
 * Whether a daemon runs, or what it does, cannot be told: the CLI exits 4 (LSB "status unknown"),
 * never 1 ("not running").
 */
export class StatusUnknownError extends SersyncError {
  static readonly EXIT_CODE = 4;
}

/** What a daemon running as another user keeps (its control socket, its queue) is closed to this user. */
export class DaemonHiddenError extends StatusUnknownError {
  constructor(what: string, why: string) {
    super(
      'ERR_SERSYNC_DAEMON_HIDDEN',
      `this user (uid ${process.getuid?.() ?? '?'}) cannot see the daemon's ${what}: ${why}. ` +
        `Run this as root (or as the user sersync2 runs as), or name its state directory with --state-dir`,
    );
  }
}

/** Command-line misuse: the CLI prints the message and a usage line, exit 1. */
export class UsageError extends SersyncError {
  constructor(message: string) {
    super('ERR_SERSYNC_USAGE', message);
  }
}

/** An error's message as an operator reads it, with its code when the message lacks it (SQLite's). */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}
