/**
 * `sersync2 reopen-logs [--state-dir DIR]`: every replicator whose control socket is in the state
 * directory reopens its log file (logrotate's postrotate). Through the sockets, not pid files: a
 * pid file left by a killed daemon may name another process by now, and a signal would reach it.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { askDaemon, NotRunningError } from '../../daemon/control.js';
import { DaemonHiddenError, SersyncError } from '../../errors.js';
import { deniedSystemDir, stateDirToAsk, SYSTEM_STATE_DIR } from '../../queue/state-dir.js';
import { globalOptions } from '../program.js';

/** The control sockets in `dir` (see controlSocketFile); none when it does not exist. */
function controlSockets(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code === 'EACCES' || code === 'EPERM')
      throw new DaemonHiddenError('control sockets', `${dir} (${code}) is closed to it (permission denied)`);
    throw err;
  }
  return names.filter((name) => /^control-.*\.sock$/.test(name)).map((name) => join(dir, name));
}

export function registerReopenLogsCommand(program: Command): void {
  program
    .command('reopen-logs')
    .description('make every sersync2 running with this state directory reopen its log file (logrotate)')
    .usage('[--state-dir DIR]   (--state-dir is a global option; -o is not needed)')
    .action(async (_o: unknown, cmd: Command) => {
      const named = globalOptions(cmd).stateDir;
      const dir = stateDirToAsk(named, null);
      const failed: string[] = [];
      for (const socket of controlSockets(dir)) {
        try {
          const { pid } = (await askDaemon(socket, { op: 'reopen-logs' })) as { pid: number };
          process.stdout.write(`pid ${pid}: log reopened\n`);
        } catch (err) {
          if (err instanceof NotRunningError) continue; // left by a process that died: nobody to tell
          failed.push(`${socket}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      if (failed.length > 0) throw new SersyncError('ERR_SERSYNC_CONTROL', failed.join('\n'));
      // root's daemons listen in the system directory: one closed to this user is not "none to tell"
      const denied = named === null && dir !== SYSTEM_STATE_DIR ? deniedSystemDir() : null;
      if (denied !== null)
        throw new DaemonHiddenError('control sockets', `${denied} is closed to it (permission denied)`);
    });
}
