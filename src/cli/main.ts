#!/usr/bin/env node
/**
 * The `sersync2` executable (package.json "bin").
 *
 * Adding a subcommand: write `src/cli/commands/<name>.ts` exporting
 * `register<Name>Command(program: Command): void`, which calls `program.command('<name>')…`, and
 * add one line to COMMANDS below. Inside the action:
 *   - `globalOptions(cmd)` (from ./program.js) gives the global `-o` (`configFile`, absolute,
 *     default ./confxml.xml) and `--state-dir` (`stateDir`, absolute or null); `loadConfigFor(cmd)`
 *     (from ./config-for.js) loads that file and prints its warnings;
 *   - report failure by throwing a `SersyncError` (printed once as `sersync2: <message>`, exit 1;
 *     a `UsageError` also prints the usage line), or set `process.exitCode` for another code;
 *   - print results to stdout, never a stack trace (SERSYNC_DEBUG=1 adds them to errors).
 *
 * Only the command that runs is loaded (with what it imports): `--version` and the replicator
 * load none, so neither pays for SQLite, the rsync pool or the others' modules.
 */
import type { Command } from 'commander';
import { commandWord, createProgram, runProgram } from './program.js';

type Register = (program: Command) => void;

const COMMANDS: Record<string, () => Promise<Register>> = {
  check: async () => (await import('./commands/check.js')).registerCheckCommand,
  queue: async () => (await import('./commands/queue.js')).registerQueueCommand,
  migrate: async () => (await import('./commands/migrate.js')).registerMigrateCommand,
  status: async () => (await import('./commands/status.js')).registerStatusCommand,
  resync: async () => (await import('./commands/resync.js')).registerResyncCommand,
  'reopen-logs': async () => (await import('./commands/reopen-logs.js')).registerReopenLogsCommand,
  verify: async () => (await import('./commands/verify.js')).registerVerifyCommand,
};

/**
 * A working directory removed before the start (a shell left in a deleted release directory):
 * Node's worker threads read it as they boot, and the rsync thread would die at the first change.
 * The process works from `/` instead; nothing relative could be resolved against it anyway.
 */
function leaveRemovedWorkingDirectory(): void {
  try {
    process.cwd();
  } catch {
    process.chdir('/');
    process.stderr.write('sersync2: the working directory no longer exists; working from /\n');
  }
}

/**
 * A full disk under a redirected stdout or stderr (an init script's `>> /var/log/sersync.log 2>&1`),
 * a terminal gone (its ssh session closed), a pipe its reader closed (`| head`): an error there
 * would end the process, and with it the replication. What is printed there is lost instead; the
 * log says so where it can (see `LogSink`).
 */
function outliveOutputErrors(): void {
  for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);
}

/** Registers what `argv` needs, then runs it; resolves to the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  outliveOutputErrors();
  leaveRemovedWorkingDirectory();
  const program = createProgram();
  const word = commandWord(program, argv);
  const wanted = word === null ? [] : word in COMMANDS ? [word] : Object.keys(COMMANDS);
  // `--help` lists every command; so does a mistyped one (its error names them all).
  const help = word === null && argv.some((a) => a === '-h' || a === '--help');
  for (const load of (help ? Object.keys(COMMANDS) : wanted).map((name) => COMMANDS[name])) {
    if (load !== undefined) (await load())(program);
  }
  return runProgram(program, argv);
}

// No top-level await: the shipped bundle is CommonJS, which Node loads faster than ES modules.
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
