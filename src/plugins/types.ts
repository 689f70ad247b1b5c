import type { PluginName } from '../config/types.js';
import type { RelPath } from '../paths.js';
import type { PluginStats } from './stats.js';

/** One change, handed to a plugin after the engine has run (or skipped) its syncs. */
export interface PluginEvent {
  /** Absolute watched root the event came from (an ordinary UTF-8 string, as in the config). */
  readonly root: string;
  /** Relative to `root` (byte string, src/paths.ts); '' never happens. */
  readonly path: RelPath;
  readonly isDir: boolean;
  readonly op: 'sync' | 'delete';
}

export interface Plugin {
  readonly name: PluginName;
  /** Never rejects: failures are logged (and retried where the plugin says so). */
  handle(ev: PluginEvent): Promise<void>;
  /** What it has done since it started (its failures included). */
  stats(): PluginStats;
  /** Flush/close sockets; waits for in-flight work up to its timeout, then cuts it off. */
  close(): Promise<void>;
}
