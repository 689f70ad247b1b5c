/**
 * The legacy `sersync2 [-d] [-r] [-n NUM] [-m PLUGIN]` run: replicate according to the config.
 * STUB: the replication engine replaces this body; keep the signature.
 */
import { SersyncError } from '../errors.js';
import type { Config, PluginName } from '../config/types.js';

export interface RunOptions {
  /** `-d`: run in the background. */
  readonly daemon: boolean;
  /** `-r`: one full sync of every tree to every remote before replicating changes. */
  readonly fullSyncAtStart: boolean;
  /** `-n`: concurrent rsync runs (sersync's worker threads; `-n 0` and absent mean 10). */
  readonly threads: number;
  /** `-o`, absolute. */
  readonly configFile: string;
  /** `-m`: run only this plugin on each event, no rsync. */
  readonly pluginOnly: PluginName | null;
  /** `--state-dir`: overrides `<state dir>`; null when not given. */
  readonly stateDir: string | null;
}

/** Runs until stopped; resolves to the process exit code. */
export function runReplicator(config: Config, options: RunOptions): Promise<number> {
  const trees = config.localpaths.map((t) => `${t.watch} → ${t.remotes.map((r) => r.id).join(', ')}`);
  const mode = options.pluginOnly === null ? 'replicate' : `run the ${options.pluginOnly} plugin only`;
  process.stdout.write(
    `would ${mode}${options.fullSyncAtStart ? ' after a full sync' : ''}` +
      ` with ${options.threads} concurrent rsync runs${options.daemon ? ' in the background' : ''}:\n` +
      trees.map((t) => `  ${t}\n`).join(''),
  );
  return Promise.reject(new SersyncError('ERR_SERSYNC_NOT_BUILT', 'replication engine not built yet'));
}
