import { SersyncError } from '../errors.js';

/**
 * A plugin could not do its work for one event (or could not be set up). `context` holds what an
 * operator needs in the log line; `retryable` says whether trying again may help (a refused
 * connection may, an HTTP 404 will not).
 */
export class PluginError extends SersyncError {
  constructor(
    message: string,
    readonly context: Readonly<Record<string, unknown>> = {},
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super('ERR_SERSYNC_PLUGIN', message, options);
  }
}

/** The text of any thrown value, including the cause fetch() hides behind "fetch failed". */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}
