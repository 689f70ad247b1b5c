import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../../config/types.js';
import { createLogger } from '../../log/logger.js';
import { readOwnFile } from '../../owned-files.js';
import { displayPath, pathBytes, type RelPath } from '../../paths.js';
import { FAIL_LOG_MIN_ATTEMPTS } from '../../queue/retry-policy.js';
import { writeFailLogMirror } from '../../queue/fail-log-mirror.js';
import { legacyToRows, parseLegacyFailLog, type LegacyProblem } from '../../queue/legacy-fail-log.js';
import { migrationReport, type Difference } from '../../queue/migration-report.js';
import { openQueueForConfig } from '../../queue/open.js';
import { printable } from '../../printable.js';
import { quote } from 'shell-quote';
import { loadConfigFor } from '../config-for.js';
import { globalOptions } from '../program.js';

export interface MigrateOptions {
  /** `--fail-log`: the legacy file (default: the config's failLog path). */
  readonly failLog?: string;
  /** `--state-dir`, or null. */
  readonly stateDir: string | null;
}

export interface MigrateResult {
  /** The legacy fail log read, and whether it existed. */
  readonly source: string;
  readonly found: boolean;
  readonly commands: number;
  readonly imported: number;
  readonly alreadyQueued: number;
  /** Lines that are not in the queue now, with why (never dropped silently). */
  readonly problems: readonly LegacyProblem[];
  /** Where the config's fail log was moved before being replaced by the queue's mirror. */
  readonly keptAs: string | null;
  /** Why the fail log could not be rewritten, if it could not. */
  readonly mirrorError: string | null;
  readonly queueFile: string;
  /** The command that imports the lines left out once they are fixed (null: none left out). */
  readonly rerun: string | null;
  readonly differences: readonly Difference[];
}

/** Far above any fail log sersync wrote (a line per failed command), so a planted one cannot exhaust memory. */
const MAX_FAIL_LOG_BYTES = 256 * 1024 * 1024;

function isDirectory(root: string, path: RelPath): boolean {
  try {
    return statSync(Buffer.concat([Buffer.from(`${root}/`), pathBytes(path)])).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Imports a legacy sersync fail log into this config's retry queue (due now), rewrites the fail
 * log as the queue's mirror (the original kept beside it), and lists what will behave
 * differently for this config.
 */
export function runMigrate(config: Config, opts: MigrateOptions, now = Date.now()): MigrateResult {
  const source = resolve(opts.failLog ?? config.failLog.path);
  const bytes = readOwnFile(source, 'fail log', MAX_FAIL_LOG_BYTES);
  const parsed = parseLegacyFailLog(bytes === null ? '' : bytes.toString('latin1'));
  const mapped = legacyToRows(config, parsed.commands, source, isDirectory);
  const log = createLogger({ level: 'warn', file: null });
  const { store, file } = openQueueForConfig(config, {
    stateDirFlag: opts.stateDir,
    log,
    mirrorFailLog: false,
    now: () => now,
  });
  try {
    const imported = store.importRows(mapped.rows, now);
    let keptAs: string | null = null;
    let mirrorError: string | null = null;
    try {
      keptAs = writeFailLogMirror(config, store, store.failedAtLeast(FAIL_LOG_MIN_ATTEMPTS), now).setAside;
    } catch (err) {
      mirrorError = (err as Error).message;
    }
    const problems = [...parsed.problems, ...mapped.problems].sort((a, b) => a.line - b.line);
    // The config's fail log is the queue's mirror now: the lines left out are in the kept copy.
    const rest = keptAs ?? source;
    return {
      source,
      found: bytes !== null,
      commands: parsed.commands.length,
      imported,
      alreadyQueued: mapped.rows.length - imported,
      problems,
      keptAs,
      mirrorError,
      queueFile: file,
      rerun:
        problems.length === 0 ? null : quote(['sersync2', 'migrate', '-o', config.file, '--fail-log', rest]),
      differences: migrationReport(config),
    };
  } finally {
    store.close();
  }
}

/** The human-readable report of `runMigrate`. */
export function migrateText(config: Config, r: MigrateResult): string {
  const out: string[] = [];
  if (!r.found) {
    out.push(`No legacy fail log at ${r.source}: nothing to import.`);
  } else {
    out.push(
      `Legacy fail log ${r.source}: ${r.commands} command(s) read; ${r.imported} queued for retry now, ` +
        `${r.alreadyQueued} already queued (${r.queueFile}).`,
    );
  }
  if (r.problems.length > 0) {
    out.push(`${r.problems.length} line(s) of ${r.keptAs ?? r.source} NOT imported:`);
    for (const p of r.problems)
      out.push(`  line ${p.line}: ${p.reason}`, `    ${printable(displayPath(p.text))}`);
    out.push(
      `Fix the config (or run those lines by hand), then import them with: ${printable(r.rerun ?? '')}`,
    );
  }
  if (r.keptAs !== null) out.push(`The original file is kept as ${r.keptAs}.`);
  if (r.mirrorError !== null) out.push(`Could not rewrite ${config.failLog.path}: ${r.mirrorError}`);
  else if (r.found) out.push(`${config.failLog.path} now mirrors the retry queue (it is never executed).`);
  out.push('', `What behaves differently under sersync-ts with ${config.file}:`);
  for (const d of r.differences) out.push(`  - ${d.change}`, `      why: ${d.why}`);
  out.push(
    '',
    `Before the switch, \`sersync2 check --remotes -o ${config.file}\` asks each remote whether it takes a run (nothing is sent).`,
  );
  return `${out.join('\n')}\n`;
}

/** `sersync2 migrate`: take over a sersync installation's pending failures and explain the differences. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      "import sersync's rsync_fail_log.sh into the retry queue and report what behaves differently",
    )
    .usage('[--fail-log PATH] [--json]   (-o, --state-dir: global)')
    .option('--fail-log <path>', 'the legacy fail log (default: failLog path of the config)')
    .option('--json', 'print JSON')
    .action((o: { failLog?: string; json?: boolean }, cmd: Command) => {
      const config = loadConfigFor(cmd);
      const result = runMigrate(config, {
        ...(o.failLog === undefined ? {} : { failLog: o.failLog }),
        stateDir: globalOptions(cmd).stateDir,
      });
      const problems = result.problems.map((p) => ({ ...p, text: displayPath(p.text) }));
      process.stdout.write(
        o.json === true
          ? `${JSON.stringify({ ...result, problems }, null, 2)}\n`
          : migrateText(config, result),
      );
      // Some commands are not in the queue: make scripts notice before anyone deletes the old file.
      if (result.problems.length > 0) process.exitCode = 1;
    });
}
