/**
 * `sersync2 check --remotes`: whether each remote takes a run, asked before sersync2 relies on it
 * (a switch from sersync, a new backup server). One dry run of the root alone per tree and remote
 * (`preflightTask`): it sends nothing, and meets the refusals a real run would.
 */
import type { Config } from '../config/types.js';
import { printable } from '../printable.js';
import { closedAfterAnswer, UNSAID_CLOSE } from '../sync/exit-codes.js';
import { preflightTask } from './args.js';
import { DryRunFailed, dryRun } from './dry-run.js';
import { pinnedRoot } from './verify.js';

/** A remote that answers none of it is given up on after this long (a host that drops packets). */
const PREFLIGHT_TIMEOUT_MS = 30_000;

/** One tree and one remote, as the dry run found them. */
export interface Reach {
  readonly root: string;
  readonly remote: string;
  /** Why the remote takes no run (rsync's line, with what it means when that is unsaid); null when it does. */
  readonly refused: string | null;
  /** It takes runs only comparing modification times to the second (see `time-window.ts`). */
  readonly toTheSecond: boolean;
  /** Why it was not asked (the tree's root cannot be used: missing, or reached through a planted link). */
  readonly notAsked: string | null;
}

export async function preflight(config: Config, timeoutMs = PREFLIGHT_TIMEOUT_MS): Promise<Reach[]> {
  const lanes = config.localpaths.flatMap((t) => t.remotes.map((remote) => ({ root: t.watch, remote })));
  return Promise.all(
    lanes.map(async ({ root, remote }): Promise<Reach> => {
      const reach = { root, remote: remote.id, refused: null, toTheSecond: false, notAsked: null };
      const pinned = pinnedRoot(root);
      if (typeof pinned === 'string') return { ...reach, notAsked: pinned };
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const task = { ...preflightTask(config, root, remote), ...pinned };
        const { conceded } = await dryRun(task, null, signal);
        // The run as sersync2 makes it carries --delete: its removals would be refused.
        const removals = conceded.get('removals');
        if (removals !== undefined) return { ...reach, refused: `${removals.message} (${REMOVALS_REFUSED})` };
        return { ...reach, toTheSecond: conceded.has('nanosecond-window') };
      } catch (err) {
        // killed for its silence, rsync says only that it got a signal
        const silent = `no answer within ${timeoutMs / 1000} s`;
        return { ...reach, refused: signal.aborted ? silent : whyRefused(err) };
      }
    }),
  );
}

function whyRefused(err: unknown): string {
  if (!(err instanceof DryRunFailed)) return err instanceof Error ? err.message : String(err);
  const { failure } = err;
  return closedAfterAnswer(failure)
    ? `${failure.message} (the remote closed the run unsaid: ${UNSAID_CLOSE})`
    : failure.message;
}

const REMOVALS_REFUSED =
  'removals wait in the retry queue, full syncs go without --delete; <delete start="false"/> matches this daemon';

/** The lines `check --remotes` prints, one per tree and remote. Pure. */
export function reachLines(reaches: readonly Reach[]): string[] {
  return reaches.map((r) => {
    const lane = `${printable(r.root)} -> ${printable(r.remote)}`;
    if (r.notAsked !== null) return `  ${lane}: not asked: ${printable(r.notAsked)}`;
    if (r.refused !== null) return `  ${lane}: REFUSED: ${printable(r.refused)}`;
    return r.toTheSecond
      ? `  ${lane}: takes runs, comparing modification times to the second (it refuses the nanosecond window: rsync older than 3.1.3, or refuse options)`
      : `  ${lane}: takes runs`;
  });
}
