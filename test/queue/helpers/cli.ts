/**
 * `sersync2` with the queue and migrate commands registered, as main.ts wires them: the real
 * program (global -o/--state-dir, error reporting, exit codes), runnable as a child process.
 */
import { registerMigrateCommand } from '../../../src/cli/commands/migrate.js';
import { registerQueueCommand } from '../../../src/cli/commands/queue.js';
import { createProgram, runProgram } from '../../../src/cli/program.js';

const program = createProgram();
registerQueueCommand(program);
registerMigrateCommand(program);
process.exitCode = await runProgram(program, process.argv.slice(2));
