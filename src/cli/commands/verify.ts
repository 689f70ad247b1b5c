/**
 * `sersync2 verify [-o FILE] [--root DIR] [--remote R] [--checksum] [--json] [--repair]`: is each
 * replica equal to its tree? Changes nothing (rsync dry runs); with `--repair`, hands exactly the
 * differing paths to the running daemon's lanes. Exit 0 equal, 1 different, 2 not compared.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/types.js';
import { askDaemon, controlSocketFile, NotRunningError } from '../../daemon/control.js';
import { SersyncError, UsageError } from '../../errors.js';
import { resolveStateDir } from '../../queue/state-dir.js';
import type { ProgressBars } from '../../sync/progress-bars.js';
import type { PendingLane } from '../../verify/pending.js';
import { repairChanges } from '../../verify/repair.js';
import { exitCode, summarize, summaryText } from '../../verify/report.js';
import { verifyLane, type LaneVerdict } from '../../verify/verify.js';
import { loadConfigFor } from '../config-for.js';
import { globalOptions } from '../program.js';

interface VerifyFlags {
  root?: string;
  remote?: string;
  checksum?: true;
  json?: true;
  repair?: true;
}

/** How long a differing path is given to settle before it is compared again. */
const RECHECK_MS = 2000;

/** The (tree, remote) pairs the flags select; a flag naming nothing is a usage error. */
function selectLanes(
  config: Config,
  flags: VerifyFlags,
): { root: string; remote: Config['localpaths'][number]['remotes'][number] }[] {
  const root = flags.root === undefined ? null : resolve(flags.root).replace(/(.)\/+$/, '$1');
  const lanes = config.localpaths
    .filter((lp) => root === null || lp.watch === root)
    .flatMap((lp) => lp.remotes.map((remote) => ({ root: lp.watch, remote })))
    .filter((l) => flags.remote === undefined || l.remote.id === flags.remote);
  if (lanes.length === 0) {
    const all = config.localpaths.flatMap((lp) => lp.remotes.map((r) => `${lp.watch} -> ${r.id}`));
    throw new UsageError(`no tree and remote match --root/--remote; the config has: ${all.join(', ')}`);
  }
  return lanes;
}

export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      'compare every tree with every remote without changing anything; exit 0 equal, 1 different, 2 not compared',
    )
    .usage('[-o FILE] [--root DIR] [--remote R] [--checksum] [--json] [--repair]')
    .option('--root <dir>', 'only this watched tree (a <localpath watch> of the config)')
    .option('--remote <id>', 'only this remote, as status names it (host::module, host:path or a directory)')
    .option('--checksum', 'compare file contents (reads every file on both sides), not size and time')
    .option('--json', 'print the result as JSON')
    .option('--repair', 'send the differing paths through the running sersync2 (not a full sync)')
    .action(async (flags: VerifyFlags, cmd: Command) => {
      process.exitCode = await verifyCommand(flags, cmd).catch((err: unknown) => {
        const message = err instanceof SersyncError ? err.message : `internal error: ${String(err)}`;
        process.stderr.write(`sersync2: ${message}\n`);
        return 2;
      });
    });
}

async function verifyCommand(flags: VerifyFlags, cmd: Command): Promise<number> {
  const { configFile, stateDir } = globalOptions(cmd);
  const config = loadConfigFor(cmd);
  const lanes = selectLanes(config, flags);
  const socket = controlSocketFile(resolveStateDir(stateDir, config.stateDir), configFile);
  /** Set when the control socket finds no daemon. */
  const daemon = { runs: true };
  const pending = async (): Promise<readonly PendingLane[] | null> => {
    try {
      return ((await askDaemon(socket, { op: 'pending' })) as { lanes: PendingLane[] }).lanes;
    } catch (err) {
      if (!(err instanceof NotRunningError)) throw err;
      daemon.runs = false;
      return null;
    }
  };
  // cli-progress is loaded only for a terminal.
  const bars: ProgressBars | null =
    process.stderr.isTTY && flags.json !== true
      ? new (await import('../../sync/progress-bars.js')).ProgressBars(process.stderr)
      : null;
  const verdicts: LaneVerdict[] = [];
  for (const { root, remote } of lanes) {
    verdicts.push(
      await verifyLane(root, remote, {
        config,
        checksum: flags.checksum === true,
        pending,
        recheckMs: RECHECK_MS,
        progress: bars,
      }),
    );
  }
  const summaries = verdicts.map(summarize);
  process.stdout.write(
    flags.json === true ? `${JSON.stringify(summaries, null, 2)}\n` : summaryText(summaries),
  );
  if (!daemon.runs && flags.json !== true)
    process.stdout.write(`note: no sersync2 runs for ${configFile}: nothing was in flight\n`);
  if (flags.repair === true) await repair(verdicts, socket, configFile);
  return exitCode(summaries);
}

/** Hands each lane's drift to the daemon; it must be running. */
async function repair(verdicts: readonly LaneVerdict[], socket: string, configFile: string): Promise<void> {
  for (const v of verdicts) {
    if (v.drift.length === 0) continue;
    try {
      const answer = (await askDaemon(socket, {
        op: 'repair',
        root: v.root,
        remote: v.remote,
        changes: repairChanges(v.drift),
      })) as { queued: number };
      process.stdout.write(`repair queued: ${v.root} -> ${v.remote}: ${answer.queued} change(s)\n`);
    } catch (err) {
      if (!(err instanceof NotRunningError)) throw err;
      throw new SersyncError(
        err.code,
        `--repair sends through the running sersync2, and none runs for ${configFile}: start it (sersync2 -d -o ${configFile}), or run a full sync (sersync2 -r)`,
      );
    }
  }
}
