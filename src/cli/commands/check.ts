/** `sersync2 check [-o FILE] [--json] [--remotes]`: load the config, show what it resolves to, exit 0 only if usable. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { configToJson, describeConfig, formatWarning } from '../../config/present.js';
import { loadConfig } from '../../config/load.js';
import { misplacedOwnFile } from '../../config/own-files.js';
import { localReplicas } from '../../config/remote-kinds.js';
import type { Config } from '../../config/types.js';
import { SersyncError } from '../../errors.js';
import { ownDirProblem, replicaDirProblem } from '../../owned-files.js';
import { displayPath } from '../../paths.js';
import { whyNotStarted } from '../../process-start.js';
import { failLogPlaceProblem } from '../../queue/fail-log-mirror.js';
import { stateDirFile } from '../../queue/state-dir.js';
import { recordReplica, replicaUnmounted } from '../../sync/local-replica.js';
import { hasUpdate } from '../../sync/rsync-args.js';
import { lookAtRsync, rsyncReport } from '../../sync/rsync-version.js';
import { describeChildStart } from '../../posix-spawn.js';
import { describeWatcher } from '../../watch/index.js';
import { SHARED_FILE_SYSTEM_EFFECT, sharedMountsAt } from '../../watch/mounts.js';
import { printable } from '../../printable.js';
import { globalOptions } from '../program.js';

/** Directories the runtime needs that are not there yet: worth a note, not an error (they are created). */
function missingPaths(config: Config): string[] {
  const paths = [...config.localpaths.map((t) => t.watch), ...localReplicas(config.localpaths)];
  // A missing password file is a warning of the config (inspectPasswordFile): every sync would fail.
  return paths.filter((p) => !existsSync(p));
}

/**
 * Which disk a local replica is on now: a running sersync2 writes it only while that stays mounted;
 * one /etc/fstab puts on a disk that is not mounted is not written until it is.
 */
function replicaMountNote(path: string): string {
  const replica = recordReplica(path);
  const { mount } = replica;
  if (mount === null)
    return `note: the local replica ${path}: no mount table here, so its disk is not watched`;
  const away = replicaUnmounted(replica);
  if (away !== null) return `WARNING: ${away}`;
  const on = `note: the local replica ${path} is on the file system mounted at ${displayPath(mount)}`;
  return mount === '/'
    ? `${on} (if it belongs on a disk of its own, that disk is not mounted)`
    : `${on}; while that is unmounted nothing is written to it`;
}

/**
 * Asks each remote whether it takes a run (`preflight`), prints the answers (as JSON, alone, with
 * `json`), and fails if one does not.
 */
async function checkRemotes(config: Config, json: boolean): Promise<void> {
  const { preflight, reachLines } = await import('../../verify/preflight.js');
  if (!json)
    process.stdout.write(
      '\nremotes (a dry run of each root alone, with what a full sync asks; nothing sent):\n',
    );
  const reaches = await preflight(config);
  process.stdout.write(
    json ? `${JSON.stringify(reaches, null, 2)}\n` : `${reachLines(reaches).join('\n')}\n`,
  );
  const refused = reaches.filter((r) => r.refused !== null).length;
  if (refused > 0)
    throw new SersyncError(
      'ERR_SERSYNC_REMOTE',
      `${refused} of ${reaches.length} remote(s) take no run: sersync2 would queue their work until they do`,
    );
}

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description(
      'load the config file, print what it resolves to and its warnings; exit 0 only if it is usable',
    )
    .usage('[-o FILE] [--state-dir DIR] [--json] [--remotes]   (-o and --state-dir are global options)')
    .option('--json', "print the resolved configuration as JSON (with --remotes: only the remotes' answers)")
    .option(
      '--remotes',
      'also ask each remote whether it takes a run (a dry run of the root alone, sending nothing); exit 1 if one does not',
    )
    .action(async (opts: { json?: true; remotes?: true }, cmd: Command) => {
      const { stateDir, configFile } = globalOptions(cmd);
      const config = loadConfig(configFile);
      if (opts.json && opts.remotes) {
        await checkRemotes(config, true);
        return;
      }
      if (opts.json) {
        process.stdout.write(`${configToJson(config)}\n`);
        return;
      }
      // Where it writes as root: a state directory another user could redirect stops the start, as
      // does one that it would replicate or delete.
      const state = stateDirFile(stateDir, config.stateDir);
      const unsafe = [
        ownDirProblem(state.path, 'state directory'),
        misplacedOwnFile([state], config.localpaths),
        ...localReplicas(config.localpaths).map(replicaDirProblem),
      ].filter((p) => p !== null);
      const failLogPlace = failLogPlaceProblem(config.failLog.path);
      const watcher = describeWatcher(config.fileSystem.watcher);
      const start = describeChildStart();
      const rsync = rsyncReport(
        await lookAtRsync().catch((err: unknown) => {
          throw new SersyncError(
            'ERR_SERSYNC_RSYNC',
            `cannot look at the installed rsync: ${whyNotStarted(err, 'rsync')}`,
            {
              cause: err,
            },
          );
        }),
      );
      const lines = [
        ...describeConfig(config, stateDir),
        `  runs          ${watcher.runs ?? 'none'}`,
        `  rsync         ${rsync.version ?? 'not found'}`,
        `  confined      ${rsync.confinement}`,
        `  started by    ${start.by}`,
        ...missingPaths(config).map((p) => `note: ${p} does not exist yet`),
        ...localReplicas(config.localpaths).map(replicaMountNote),
        ...(start.note === null ? [] : [`note: ${start.note}`]),
        ...(hasUpdate(config.rsync.commonParams)
          ? [
              'note: commonParams -u (--update) applies to full syncs only: an event sync sends what the watcher saw change, even where the replica has a newer copy (sersync kept the stale copy)',
            ]
          : []),
        ...(watcher.warning === null ? [] : [`WARNING: ${watcher.warning}`]),
        ...(rsync.problem === null ? [] : [`WARNING: ${rsync.problem}`]),
        ...(failLogPlace === null ? [] : [`WARNING: ${failLogPlace}`]),
        ...config.localpaths.flatMap((t) =>
          sharedMountsAt(t.watch).map(
            (m) =>
              `WARNING: ${printable(m.path === '' ? t.watch : `${t.watch}/${m.path}`)} is on ${m.fstype}, ${SHARED_FILE_SYSTEM_EFFECT}`,
          ),
        ),
        '',
        ...config.warnings.map((w) => formatWarning(config.file, w)),
        ...(unsafe.length === 0
          ? [
              `${config.file}: usable${config.warnings.length > 0 ? `, with ${config.warnings.length} warning(s)` : ''}`,
            ]
          : []),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      if (unsafe.length > 0)
        throw new SersyncError('ERR_SERSYNC_UNSAFE_FILE', `sersync2 would not start: ${unsafe.join('; ')}`);
      if (opts.remotes) await checkRemotes(config, false);
    });
}
