/**
 * Runs one dry run (never through a shell, names on stdin as the engine sends them, started and
 * confined as the engine's runs are) and reads its itemized output. The verify runs in its own
 * process, so rsync is started here rather than on the daemon's pool; the list on stdin is built
 * by the worker's own code.
 */
import { buildInput } from '../../workers/rsync.js';
import { SersyncError } from '../errors.js';
import { pathBytes, type RelPath } from '../paths.js';
import type { Failure } from '../queue/types.js';
import { whyNotStarted } from '../process-start.js';
import { rerunWhileBusy } from '../sync/busy-rerun.js';
import { classifyExit, daemonRefusedPaths, lastErrorLine } from '../sync/exit-codes.js';
import { pinnedPlace } from '../sync/rsync-place.js';
import { StderrKeeper } from '../sync/rsync-stderr.js';
import { startRsync } from '../sync/rsync-start.js';
import type { ProgressTrack } from '../sync/progress-report.js';
import { Progress2Reader } from '../sync/rsync-progress.js';
import type { RsyncTask } from '../sync/task.js';
import { concession, type Conceded } from '../sync/concessions.js';
import { parseItemized, type Difference } from './itemize.js';

const NUL = Buffer.of(0);

/** What a dry run found. */
export interface Compared {
  /** The differences rsync lists. */
  readonly differences: Difference[];
  /** Paths the remote's daemon refused to receive, its module excluding them: not compared. */
  readonly daemonRefused: RelPath[];
  /**
   * What the remote refused that the comparison went without (see `concessions.ts`): its times
   * compared to the second, or nothing listed that only the replica has.
   */
  readonly conceded: Conceded;
}

/** rsync ran and failed: the remote refused (or could not be reached), `failure` says how. */
export class DryRunFailed extends SersyncError {
  constructor(
    cwd: string,
    readonly failure: Failure,
  ) {
    super('ERR_SERSYNC_VERIFY', `cannot compare ${cwd}: ${failure.message}`);
  }
}

/**
 * What rsync lists; throws `SersyncError` when it could not compare (`DryRunFailed` when rsync
 * ran). `signal` kills rsync (the daemon stopping in the middle of a periodic verify). A run the
 * remote's daemon refused as busy goes again, as the engine's do (see `rerunWhileBusy`).
 */
export async function dryRun(
  task: RsyncTask,
  track: ProgressTrack | null,
  signal?: AbortSignal,
): Promise<Compared> {
  const { last } = await rerunWhileBusy(
    () => compareOnce(task, track, signal),
    () => signal?.aborted !== true,
  );
  if (last.compared !== null) {
    track?.end();
    return last.compared;
  }
  const failure = {
    exitCode: last.exitCode,
    message: lastErrorLine(last.stderr) || `rsync exited with ${last.exitCode}`,
  };
  const c = concession(task, failure);
  if (c !== null) {
    const r = await dryRun(c.task, track, signal);
    return { ...r, conceded: new Map([...r.conceded, [c.gave, failure]]) };
  }
  track?.end();
  throw new DryRunFailed(task.cwd, failure);
}

/** One dry run: what it listed, or null when rsync failed (its exit code and stderr say how). */
interface Once {
  readonly exitCode: number;
  readonly stderr: string;
  readonly compared: Compared | null;
}

/** Runs rsync once; rejects only when it could not start. */
function compareOnce(task: RsyncTask, track: ProgressTrack | null, signal?: AbortSignal): Promise<Once> {
  // As the engine's runs: in the root held open, checked to be the directory `rootId` names.
  const place = pinnedPlace(task.cwd, '', task.rootId);
  if (typeof place === 'string')
    return Promise.reject(new SersyncError('ERR_SERSYNC_VERIFY', `cannot compare ${task.cwd}: ${place}`));
  let input;
  try {
    input = task.input === null ? null : buildInput({ ...task, cwd: place.tree }, task.input);
  } catch (err) {
    place.close();
    throw err;
  }
  const progress = track === null ? [] : ['--info=progress2'];
  const reader = new Progress2Reader(input?.walked ?? 0);
  const child = startRsync(place, [...progress, ...task.args], task.access, signal);
  const cannotStart = (err: unknown): SersyncError =>
    new SersyncError('ERR_SERSYNC_VERIFY', `cannot run rsync in ${task.cwd}: ${whyNotStarted(err, 'rsync')}`);
  if (child instanceof Promise) return child.then((err) => Promise.reject(cannotStart(err)));
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const stderr = new StderrKeeper();
    child.stdout.on('data', (chunk: Buffer) => {
      out.push(chunk);
      if (track !== null && reader.feed(chunk.toString('latin1'))) track.update(reader.snapshot());
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr.feed(chunk);
    });
    child.stdin.on('error', () => undefined); // rsync may exit before reading it all; its exit code says why
    const list = input?.list ?? [];
    child.stdin.end(Buffer.concat(list.flatMap((e) => [pathBytes(e), NUL])));
    child.on('error', (err) => {
      reject(cannotStart(err));
    });
    child.on('close', (code) => {
      const exitCode = code ?? -1;
      const errors = stderr.text();
      const ok = classifyExit(exitCode, errors, { cut: stderr.cut }) === 'ok';
      resolve({
        exitCode,
        stderr: errors,
        // Names are bytes: latin1 keeps one char per byte (see paths.ts).
        compared: !ok
          ? null
          : {
              differences: parseItemized(Buffer.concat(out).toString('latin1')),
              daemonRefused: daemonRefusedPaths({ exitCode, stderr: errors }),
              conceded: new Map(),
            },
      });
    });
  });
}
