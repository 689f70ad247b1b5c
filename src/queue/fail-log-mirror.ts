import { createHash } from 'node:crypto';
import { renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { errorText, SersyncError } from '../errors.js';
import { checkDirPath, exposureWarning, readFileNoFollow, replaceFile } from '../owned-files.js';
import { renderFailLog } from './fail-log.js';
import type { QueueRow, QueueStore } from './types.js';

/**
 * A fail log larger than this is not read to tell whether it is ours (it is set aside unread): ours
 * holds a line per repeatedly failed path, far less than this.
 */
const MAX_FAIL_LOG_BYTES = 256 * 1024 * 1024;
/** Meta key: sha256 of the fail log this queue last wrote, to tell our file from anyone else's. */
const LAST_WRITTEN_KEY = 'fail_log_sha256';

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** `file.sersync-20240131T120000Z`: where a fail log we did not write is kept. */
export function setAsideName(file: string, now: number): string {
  return `${file}.sersync-${new Date(now).toISOString().replace(/[-:]|\.\d+/g, '')}`;
}

export interface MirrorResult {
  /**
   * Where a fail log we had not written (e.g. sersync's own), or one too large to tell (over
   * MAX_FAIL_LOG_BYTES, unread), was moved before ours replaced it.
   */
  readonly setAside: string | null;
  /** Why it was set aside: not ours, or too large to read and compare; null when it was not. */
  readonly why: 'not-ours' | 'too-large' | null;
}

/**
 * Keeps `<failLog path>` equal to the queue's repeatedly failed rows: the whole file is rendered
 * from the rows and replaced atomically (`replaceFile`: an exclusive temp file, then a rename, so
 * a link planted in a shared directory such as /tmp is replaced, never written through), mode
 * 0600 (sersync made it 0777 and executed it; ours holds path names and is never executed, so
 * nobody else needs it). A non-empty file this queue did not write last (a legacy sersync log
 * not yet migrated), or anything there that is not a regular file, is renamed aside first,
 * never overwritten. Nothing is written when another user could change where its directory
 * leads (see `checkDirPath`): a SersyncError says why.
 */
export function writeFailLogMirror(
  config: Config,
  store: QueueStore,
  rows: readonly QueueRow[],
  now: number,
): MirrorResult {
  const file = config.failLog.path;
  failLogDirExposure(file);
  const existing = readFileNoFollow(file, MAX_FAIL_LOG_BYTES);
  const ours =
    existing === null ||
    (Buffer.isBuffer(existing) &&
      (existing.length === 0 || sha256(existing) === store.getMeta(LAST_WRITTEN_KEY)));
  const why = ours ? null : existing === 'too-large' ? 'too-large' : 'not-ours';
  const setAside = why === null ? null : setAsideName(file, now);
  if (setAside !== null) renameSync(file, setAside);
  const content = renderFailLog(config, rows);
  replaceFile(file, content);
  store.setMeta(LAST_WRITTEN_KEY, sha256(content));
  return { setAside, why };
}

/** While the fail log is not written: since when, and why (status and /metrics show it). */
export interface FailLogTrouble {
  readonly file: string;
  readonly since: number;
  readonly error: string;
}

/** The fail log kept from the queue in a running process, and whether it is written. */
export interface FailLogMirror {
  /** The store's `onFailLogRowsChange` hook. */
  readonly update: (rows: readonly QueueRow[]) => void;
  /** Null while the last write worked (or none was tried). */
  readonly trouble: () => FailLogTrouble | null;
}

/**
 * The fail log of a running process: a courtesy copy, so a failure to write it is logged, shown
 * by `trouble()`, and never fails the queue operation that triggered it.
 */
export function failLogMirror(
  config: Config,
  getStore: () => QueueStore,
  log: Logger,
  now: () => number = Date.now,
): FailLogMirror {
  const file = config.failLog.path;
  // A missing or unsafe directory is a config matter: one line, once each (check and the start
  // warn about a missing one, so it is not said before a write).
  const said = new Set<string>();
  const once = (msg: string): void => {
    if (!said.has(msg)) log.warn({ file }, `${msg} (the retry queue is unaffected)`);
    said.add(msg);
  };
  const problem = failLogPlaceProblem(file);
  if (problem !== null) once(problem);
  // A write that fails (its disk full) is said once, and again only after one has worked: it is
  // tried at every change of the failed rows, which comes in bursts while a remote is down.
  let trouble: FailLogTrouble | null = null;
  const update = (rows: readonly QueueRow[]): void => {
    try {
      reportSetAside(writeFailLogMirror(config, getStore(), rows, now()), config, log);
      if (trouble !== null) log.info({ file }, 'the fail log is written again');
      trouble = null;
    } catch (err) {
      const failing = trouble !== null;
      let error: string;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        error = `the directory of ${file} does not exist`;
        once(`the fail log is not written: ${error}`);
      } else if (err instanceof SersyncError) {
        error = err.message;
        once(error);
      } else {
        error = errorText(err);
        if (!failing)
          log.warn({ err, file }, 'could not update the fail log (the retry queue is unaffected)');
      }
      trouble = { file, since: trouble?.since ?? now(), error };
    }
  };
  return { update, trouble: () => trouble };
}

/**
 * What is wrong with where the fail log goes (another user could redirect it, so it is not written;
 * or could replace it); null when nothing, or when its directory is missing (a warning of the config).
 */
export function failLogPlaceProblem(file: string): string | null {
  try {
    const exposure = failLogDirExposure(file);
    return exposure === null ? null : exposureWarning(exposure, 'fail log');
  } catch (err) {
    if (err instanceof SersyncError) return err.message;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Who else may write the fail log's directory, once the way to it is safe (see `checkDirPath`). */
function failLogDirExposure(file: string): ReturnType<typeof checkDirPath> {
  return checkDirPath(
    dirname(file),
    (why) => new SersyncError('ERR_SERSYNC_UNSAFE_FILE', `the fail log ${file} is not written: ${why}`),
  );
}

export function reportSetAside(result: MirrorResult, config: Config, log: Logger): void {
  if (result.setAside === null) return;
  const found =
    result.why === 'too-large'
      ? `found a fail log larger than ${MAX_FAIL_LOG_BYTES / 1024 / 1024} MiB at ${config.failLog.path} (not read to tell whether this queue wrote it)`
      : `found a fail log not written by this queue (sersync's?) at ${config.failLog.path}`;
  log.warn(
    { file: config.failLog.path, keptAs: result.setAside },
    `${found}; kept it as ${result.setAside}. To queue its commands: ` +
      `sersync2 migrate -o ${config.file} --fail-log ${result.setAside}`,
  );
}
