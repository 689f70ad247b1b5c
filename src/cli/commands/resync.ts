/** `sersync2 resync [-o FILE] [--root DIR]`: ask the running replicator for a full sync. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { askRunningDaemon } from './status.js';

export function registerResyncCommand(program: Command): void {
  program
    .command('resync')
    .description('make the running sersync2 push every tree (or one) to its remotes in full')
    .usage('[-o FILE] [--state-dir DIR] [--root DIR]   (-o and --state-dir are global options)')
    .option('--root <dir>', 'only this watched tree (a <localpath watch> of the config)')
    .action(async (opts: { root?: string }, cmd: Command) => {
      const answer = (await askRunningDaemon(
        cmd,
        { op: 'resync', root: opts.root === undefined ? null : resolve(opts.root) },
        (file) => `to push every tree once, start it with: sersync2 -r -o ${file}`,
      )) as { resynced: string[] };
      for (const root of answer.resynced) process.stdout.write(`full sync queued: ${root}\n`);
    });
}
