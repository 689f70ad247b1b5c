import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { SersyncError } from '../errors.js';
import type { OwnFile } from '../config/own-files.js';
import { ensureOwnDir } from '../owned-files.js';

/** Where the state dir goes when neither the command line nor the config names one. */
export interface StateDirDefaults {
  /** The system location, used when this user may write it (default `/var/lib/sersync2`). */
  readonly systemDir: string;
  /** `$XDG_STATE_HOME`, or null when unset. */
  readonly xdgStateHome: string | null;
  readonly home: string;
}

/** Where a sersync2 running as root keeps its state when none is named. */
export const SYSTEM_STATE_DIR = '/var/lib/sersync2';

function defaults(): StateDirDefaults {
  const xdg = process.env['XDG_STATE_HOME'];
  return {
    systemDir: SYSTEM_STATE_DIR,
    xdgStateHome: xdg === undefined || xdg === '' ? null : xdg,
    home: homedir(),
  };
}

/** This user's own state directory: `$XDG_STATE_HOME/sersync2` (`~/.local/state/sersync2`). */
function userStateDir(fallback: StateDirDefaults): string {
  return join(fallback.xdgStateHome ?? join(fallback.home, '.local', 'state'), 'sersync2');
}

/**
 * Creates `dir` (parents too) owner-only when missing and checks that we may write it and that
 * nobody else may: its queue and control socket would be theirs to replace.
 */
function ensureWritableDir(dir: string): void {
  ensureOwnDir(dir, 'state directory');
  accessSync(dir, constants.W_OK | constants.X_OK);
}

/**
 * The directory holding the retry queue: `--state-dir`, else the config's `<state dir>`, else
 * `/var/lib/sersync2` when it can be created and written, else `$XDG_STATE_HOME/sersync2`
 * (`~/.local/state/sersync2`). The directory is created mode 0700; a named one that cannot be
 * used is an error (no silent fallback from what the operator asked for).
 */
export function resolveStateDir(
  flag: string | null,
  configStateDir: string | null,
  fallback: StateDirDefaults = defaults(),
): string {
  const named = flag ?? configStateDir;
  if (named !== null) {
    const dir = resolve(named);
    try {
      ensureWritableDir(dir);
    } catch (err) {
      throw new SersyncError(
        'ERR_SERSYNC_STATE_DIR',
        `cannot use state directory ${dir}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    return dir;
  }
  try {
    ensureWritableDir(fallback.systemDir);
    return fallback.systemDir;
  } catch {
    const dir = userStateDir(fallback);
    try {
      ensureWritableDir(dir);
    } catch (err) {
      throw new SersyncError(
        'ERR_SERSYNC_STATE_DIR',
        `no usable state directory (${fallback.systemDir} and ${dir} failed: ${(err as Error).message}); ` +
          `name one with --state-dir or <state dir="…"/>`,
        { cause: err },
      );
    }
    return dir;
  }
}

/**
 * The state directory a daemon of this user would use (see resolveStateDir), for the commands that
 * only talk to it (`status`, `resync`, `reopen-logs`): nothing is created and nothing need be
 * writable, so a directory closed to this user is found as it is, and told as hidden (exit 4) when
 * its socket cannot be reached, never as an unusable state directory.
 */
export function stateDirToAsk(
  flag: string | null,
  configStateDir: string | null,
  fallback: StateDirDefaults = defaults(),
): string {
  const named = flag ?? configStateDir;
  if (named !== null) return resolve(named);
  // resolveStateDir takes the system directory when it may write in it, or create it
  const writable = (dir: string): boolean => {
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const system = fallback.systemDir;
  return writable(existsSync(system) ? system : dirname(system)) ? system : userStateDir(fallback);
}

/** The state directory a start would use (see `stateDirToAsk`), named by where it comes from. */
export function stateDirFile(flag: string | null, configStateDir: string | null): OwnFile {
  const from = flag !== null ? '--state-dir' : configStateDir !== null ? '<state dir>' : null;
  return { what: 'the state directory', from, path: stateDirToAsk(flag, configStateDir) };
}

/**
 * Where a daemon may keep a queue this user cannot see: the system state directory when it exists
 * but this user may not use it (so `resolveStateDir` passed it over), with the reason; else null.
 */
export function deniedSystemDir(fallback: StateDirDefaults = defaults()): string | null {
  try {
    accessSync(fallback.systemDir, constants.R_OK | constants.X_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? null : `${fallback.systemDir} (${code ?? String(err)})`;
  }
}

/**
 * A file of one config's state: `<kind>-<config file name>-<8 hex of sha256(absolute path)>.<ext>`,
 * readable at a glance and distinct for two configs with the same name.
 */
export function stateFileFor(stateDir: string, configFile: string, kind: string, ext: string): string {
  const abs = resolve(configFile);
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 8);
  const name = basename(abs).replace(/[^A-Za-z0-9._-]/g, '_');
  return join(stateDir, `${kind}-${name}-${hash}.${ext}`);
}

/** One queue database per config file (see `stateFileFor`). */
export function queueFileFor(stateDir: string, configFile: string): string {
  return stateFileFor(stateDir, configFile, 'queue', 'sqlite');
}
