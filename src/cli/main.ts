#!/usr/bin/env node
/**
 * The `sersync2` executable (package.json "bin").
 *
 * Adding a subcommand: write `src/cli/commands/<name>.ts` exporting
 * `register<Name>Command(program: Command): void`, which calls `program.command('<name>')…`, and
 * add one line below. Inside the action:
 *   - `globalOptions(cmd)` (from ./program.js) gives the global `-o` (`configFile`, absolute,
 *     default ./confxml.xml) and `--state-dir` (`stateDir`, absolute or null); `loadConfigFor(cmd)`
 *     loads that file and prints its warnings;
 *   - report failure by throwing a `SersyncError` (printed once as `sersync2: <message>`, exit 1;
 *     a `UsageError` also prints the usage line), or set `process.exitCode` for another code;
 *   - print results to stdout, never a stack trace (SERSYNC_DEBUG=1 adds them to errors).
 */
import { registerCheckCommand } from './commands/check.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerQueueCommand } from './commands/queue.js';
import { registerResyncCommand } from './commands/resync.js';
import { registerStatusCommand } from './commands/status.js';
import { createProgram, runProgram } from './program.js';

const program = createProgram();
registerCheckCommand(program);
registerQueueCommand(program);
registerMigrateCommand(program);
registerStatusCommand(program);
registerResyncCommand(program);

process.exitCode = await runProgram(program, process.argv.slice(2));
