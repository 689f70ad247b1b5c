/**
 * The `sersync2` command line: sersync's legacy flags on the program itself (so getopt-style
 * `-dro conf.xml` works), the global `-o` and `--state-dir` that every subcommand reads, and
 * the one place where errors become a message and an exit code.
 */
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { PLUGIN_NAMES, type Config, type PluginName } from '../config/types.js';
import { ConfigError, SersyncError, StatusUnknownError, UsageError } from '../errors.js';
import { isDaemonChild } from '../daemon/detach.js';
import { packageVersion } from '../version.js';
import { DEFAULT_THREADS, LEGACY_USAGE, parseThreads } from './args.js';
import type { RunOptions } from './run.js';

/**
 * What the legacy form starts: the replicator, or a stand-in in tests of the argument handling.
 * `prepare` runs before the config is read, with what the command line already says.
 */
export type Runner = ((config: Config, options: RunOptions) => Promise<number>) & {
  readonly prepare?: (options: Pick<RunOptions, 'daemon' | 'threads' | 'pluginOnly'>) => void;
};

/** The engine is loaded only when replicating, so that --help, check and the other commands stay light. */
const replicator: Runner = Object.assign(
  async (config: Config, options: RunOptions) => (await import('./run.js')).runReplicator(config, options),
  {
    prepare: (o: Pick<RunOptions, 'daemon' | 'threads' | 'pluginOnly'>): void => {
      // Neither the parent of -d (it only detaches) nor -m (no rsync) runs rsync.
      if ((o.daemon && !isDaemonChild()) || o.pluginOnly !== null) return;
      import('../sync/pool.js')
        .then(({ startRsyncPoolAhead }) => {
          startRsyncPoolAhead(o.threads);
        })
        .catch(() => {
          // the engine's own start of the pool reports it
        });
    },
  },
);

export interface GlobalOptions {
  /** `-o FILE`, absolute (default `./confxml.xml`, relative to the current directory as in sersync). */
  readonly configFile: string;
  /** `--state-dir DIR`, absolute, or null when not given. */
  readonly stateDir: string | null;
}

interface RawGlobals {
  config: string;
  stateDir?: string;
}

/** The global options as seen from any (sub)command. */
export function globalOptions(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals<RawGlobals>();
  if (o.config === '') throw new UsageError('config file name empty (-o "")');
  return { configFile: resolve(o.config), stateDir: o.stateDir === undefined ? null : resolve(o.stateDir) };
}

/**
 * The subcommand `argv` names (its first operand, found as commander would: past the program's
 * options and their values, `-dro FILE` included), or null when there is none.
 */
export function commandWord(program: Command, argv: readonly string[]): string | null {
  const takesValue = new Set(
    program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.short, o.long]),
  );
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') return argv[i + 1] ?? null;
    if (!arg.startsWith('-') || arg === '-') return arg;
    if (arg.startsWith('--')) {
      if (!arg.includes('=') && takesValue.has(arg)) i++;
      continue;
    }
    // -dro FILE: the first letter that takes a value takes the rest of the word, or the next word.
    let at = 1;
    while (at < arg.length && !takesValue.has(`-${arg.charAt(at)}`)) at++;
    if (at === arg.length - 1) i++;
  }
  return null;
}

/**
 * A line for stderr: `sersync2: message`, or in the `-d` child, whose stderr is its log file, a
 * JSON line as pino writes them (level, time, pid, msg), so the log stays JSON lines.
 */
export function stderrLine(level: 'warn' | 'error', message: string): void {
  if (!isDaemonChild()) {
    process.stderr.write(`sersync2: ${message}\n`);
    return;
  }
  const line = { level: level === 'warn' ? 40 : 50, time: Date.now(), pid: process.pid, msg: message };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

interface LegacyOptions {
  daemon?: true;
  fullSync?: true;
  threads?: number;
  plugin?: PluginName;
  logFile?: string;
  pidFile?: string;
}

async function runLegacy(cmd: Command, run: Runner): Promise<number> {
  const o = cmd.opts<LegacyOptions>();
  const { configFile, stateDir } = globalOptions(cmd);
  const pluginOnly = o.plugin ?? null;
  const threads = o.threads ?? DEFAULT_THREADS;
  run.prepare?.({ daemon: o.daemon === true, threads, pluginOnly });
  const config = (await import('./config-for.js')).loadConfigFor(cmd);
  if (pluginOnly !== null && config.plugin[pluginOnly] === null) {
    throw new ConfigError(
      configFile,
      0,
      0,
      `-m ${pluginOnly} needs a usable <plugin name="${pluginOnly}"> section`,
    );
  }
  return run(config, {
    daemon: o.daemon === true,
    fullSyncAtStart: o.fullSync === true,
    threads,
    configFile,
    pluginOnly,
    stateDir,
    logFile: o.logFile === undefined ? null : resolve(o.logFile),
    pidFile: o.pidFile === undefined ? null : resolve(o.pidFile),
  });
}

const HINT = `usage: ${LEGACY_USAGE}\n       sersync2 <command> [options]   (sersync2 --help lists them)`;

export function createProgram(run: Runner = replicator): Command {
  const program = new Command('sersync2')
    .usage(
      '[-d] [-r] [-n NUM] [-o FILE] [-m PLUGIN] [--state-dir DIR] [--log-file F] [--pid-file F]  |  <command> [options]',
    )
    .description(
      "Real-time replication of directory trees with inotify and rsync, configured by sersync's confxml.xml.\n" +
        'Without a command it replicates, as sersync2 did.',
    )
    .version(packageVersion(), '--version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .option('-d, --daemon', 'run in the background')
    .option('-r, --full-sync', 'push every tree to its remotes once before watching')
    .addOption(
      new Option('-n, --threads <num>', `concurrent rsync runs (0 means ${DEFAULT_THREADS})`).argParser(
        parseThreads,
      ),
    )
    .option('-o, --config <file>', 'the config file', './confxml.xml')
    .addOption(new Option('-m, --plugin <name>', 'run only this plugin, no rsync').choices(PLUGIN_NAMES))
    .option('--state-dir <dir>', 'where the retry queue lives (overrides <state dir>)')
    .option('--log-file <file>', 'write the log (JSON lines) here; with -d the default is in the state dir')
    .option('--pid-file <file>', 'with -d: where to write the pid (default in the state dir)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`sersync2: ${text.replace(/^error: /, '')}`) })
    .showHelpAfterError(HINT)
    // sersync2 ignored stray arguments; here a stray word is most likely a mistyped command.
    .allowExcessArguments()
    .action(async (_opts, cmd: Command) => {
      const [stray] = cmd.args;
      if (stray !== undefined) {
        const commands = cmd.commands.map((c) => c.name()).join(', ');
        throw new UsageError(`unknown command "${stray}" (the commands are: ${commands})`);
      }
      process.exitCode = await runLegacy(cmd, run);
    });

  program.hook('preSubcommand', (thisCommand, sub) => {
    const o = thisCommand.opts<LegacyOptions>();
    const legacy = [o.daemon, o.fullSync, o.threads, o.plugin, o.pidFile, o.logFile];
    if (legacy.some((v) => v !== undefined)) {
      throw new UsageError(
        `-d, -r, -n, -m, --log-file and --pid-file start the replicator; they do not apply to "${sub.name()}"`,
      );
    }
  });
  return program;
}

function report(err: unknown): number {
  const debug = process.env.SERSYNC_DEBUG === '1';
  if (err instanceof CommanderError) return err.exitCode; // commander already printed it
  const message = err instanceof SersyncError ? err.message : `internal error: ${String(err)}`;
  stderrLine('error', message);
  if (isDaemonChild()) return 1; // the log keeps JSON lines; the parent printed the message
  if (err instanceof UsageError) process.stderr.write(`${HINT}\n`);
  if (debug && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
  return err instanceof StatusUnknownError ? StatusUnknownError.EXIT_CODE : 1;
}

/**
 * Parses `argv` (without node and the script) and runs the chosen command. Resolves to the exit
 * code: what the command left in `process.exitCode`, 1 for any error (printed once).
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    return report(err);
  }
}
