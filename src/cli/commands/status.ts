/** `sersync2 status [-o FILE] [--json]`: what the running replicator of this config is doing. */
import type { Command } from 'commander';
import { PLUGIN_NAMES, type Config } from '../../config/types.js';
import {
  askDaemon,
  controlSocketFile,
  NotRunningError,
  pluginControlSocketFile,
  type ControlRequest,
} from '../../daemon/control.js';
import { isPluginOnly, type DaemonStatus, type PluginOnlyStatus } from '../../daemon/status.js';
import { pluginOnlyStatusText, statusText } from '../../daemon/status-text.js';
import { holderOf } from '../../daemon/root-lock.js';
import { SersyncError, StatusUnknownError } from '../../errors.js';
import { stateDirToAsk, SYSTEM_STATE_DIR } from '../../queue/state-dir.js';
import { loadConfigFor } from '../config-for.js';
import { globalOptions } from '../program.js';

/**
 * Asks the replicator running for the `-o` config (found through its control socket in the state
 * directory), else a `sersync2 -m PLUGIN` of it. A config that cannot be read (just broken by an
 * edit the daemon refused to reload) does not stop the question: only its `<state dir>` is lost,
 * and the default is tried. When no daemon runs, the error says so and what to run instead (`hint`).
 */
export async function askRunningDaemon(
  cmd: Command,
  request: ControlRequest,
  hint: (configFile: string) => string,
): Promise<unknown> {
  const { configFile, stateDir } = globalOptions(cmd);
  let config: Config | null = null;
  try {
    config = loadConfigFor(cmd);
  } catch (err) {
    if (!(err instanceof SersyncError)) throw err;
    process.stderr.write(
      `sersync2: note: ${err.message}\nsersync2: asking the running daemon all the same\n`,
    );
  }
  const configStateDir = config?.stateDir ?? null;
  const dir = stateDirToAsk(stateDir, configStateDir);
  // a user's own fallback directory is not where root's daemon listens: ask there too (a socket
  // closed to this user is a DaemonHiddenError, never "not running")
  const dirs =
    stateDir === null && configStateDir === null && dir !== SYSTEM_STATE_DIR
      ? [dir, SYSTEM_STATE_DIR]
      : [dir];
  const sockets = dirs.map((d) => controlSocketFile(d, configFile));
  // then a `sersync2 -m PLUGIN` of this config: its status, or why it cannot do what was asked
  const plugins = dirs.flatMap((d) =>
    PLUGIN_NAMES.map((name) => pluginControlSocketFile(d, configFile, name)),
  );
  for (const socket of [...sockets, ...plugins]) {
    try {
      return await askDaemon(socket, request);
    } catch (err) {
      if (!(err instanceof NotRunningError)) throw err;
    }
  }
  // Its <state dir> unknown, a daemon that runs with one cannot be found: not "not running".
  if (config === null && stateDir === null)
    throw new StatusUnknownError(
      'ERR_SERSYNC_NOT_RUNNING',
      `cannot tell whether a sersync2 runs for ${configFile}: the config cannot be read, so its ` +
        `<state dir> is unknown, and nothing answers on ${sockets.join(' or ')}; give --state-dir DIR ` +
        'if the config sets one, or fix the config',
    );
  // A replicator of this config that no socket reaches (its state directory removed, or another
  // one given) still holds its watch roots.
  let other = '';
  for (const lp of config?.localpaths ?? []) {
    const holder = await holderOf(lp.watch);
    if (holder === null) continue;
    if (holder.config !== configFile) {
      other ||= `; another sersync2 (pid ${holder.pid}, config ${holder.config}) watches ${lp.watch}`;
      continue;
    }
    throw new StatusUnknownError(
      'ERR_SERSYNC_UNREACHABLE',
      `a sersync2 runs (pid ${holder.pid}, config ${holder.config}: it holds the watch root ${lp.watch}), ` +
        `but nothing answers on ${sockets.join(' or ')}: its state directory was removed or is another ` +
        '(give --state-dir DIR); a removed control socket is put back within seconds, else its log says why not',
    );
  }
  throw new SersyncError(
    'ERR_SERSYNC_NOT_RUNNING',
    `no sersync2 is running for ${configFile} (nothing answers on ${sockets.join(' or ')}, ` +
      `nor a sersync2 -m PLUGIN${other}); ${hint(configFile)}`,
  );
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'show what the running sersync2 of this config is doing (exit 1 when none runs, 4 when that cannot be told)',
    )
    .usage('[-o FILE] [--state-dir DIR] [--json]   (-o and --state-dir are global options)')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { json?: true }, cmd: Command) => {
      const status = (await askRunningDaemon(
        cmd,
        { op: 'status' },
        (file) => `start it with: sersync2 -d -o ${file}`,
      )) as DaemonStatus | PluginOnlyStatus;
      const text = isPluginOnly(status) ? pluginOnlyStatusText(status) : statusText(status);
      process.stdout.write(opts.json === true ? `${JSON.stringify(status, null, 2)}\n` : text);
    });
}
