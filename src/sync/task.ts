import type { FilterSpec } from '../filter/path-filter.js';
import type { RelPath } from '../paths.js';
import type { LocalReplica } from './local-replica.js';
import type { DirIdentity } from './root-identity.js';

/** What goes to rsync's stdin, NUL-separated; built in the worker so large walks never stall the event loop. */
export type RsyncInput =
  /**
   * `--files-from`: these paths, then every entry below each tree (walked, filter applied). A file
   * in `sentAs` is left out while it still has that signature: an earlier batch's walk sent it,
   * and its own close_write (or a walk of a directory above it) came after; with
   * `--ignore-times` it would travel twice.
   */
  | {
      readonly kind: 'files';
      readonly paths: readonly RelPath[];
      readonly trees: readonly RelPath[];
      readonly sentAs: ReadonlyMap<RelPath, FileSignature>;
    }
  /** `--include-from`/`--exclude-from` rules, ready made. */
  | { readonly kind: 'rules'; readonly rules: readonly string[] }
  /** `--exclude-from`: every path of the tree the filter excludes (walked). */
  | { readonly kind: 'excluded' };

/**
 * What a run does: `send` listed paths and trees, `delete` listed paths, remove from the replica
 * what the source has not below listed directories (`prune`), rebuild a renamed directory from its
 * old copy (`move`), or sync the whole tree (`full`).
 */
export type RsyncTaskKind = 'send' | 'delete' | 'prune' | 'move' | 'full';

/** A regular file's size, mtime and ctime (ns) when a walk listed it: unchanged since, while equal. */
export type FileSignature = string;

/** What a confined rsync may read besides the tree and the system's files, and where it may write. */
export interface RunAccess {
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  /**
   * A local replica: not written while its file system is unmounted; made again before the run when
   * it is missing (removed while running), as rsync itself would, where no other user can point it
   * elsewhere (the confined rsync may not). See `local-replica.ts`.
   */
  readonly replica?: LocalReplica;
}

/** One rsync run, as the worker thread receives it (structured-cloned). */
export interface RsyncTask {
  readonly kind: RsyncTaskKind;
  /** The watch root: rsync runs there, every listed path is relative to it. */
  readonly cwd: string;
  /**
   * Set when the run's source is this directory of the tree (`./` in args): rsync starts inside
   * it, opened without following any symlink, so a name swapped for a link is never followed.
   */
  readonly dir?: RelPath;
  /** The root's identity as the tree recorded it: the run starts only in that very directory. */
  readonly rootId?: DirIdentity;
  readonly args: readonly string[];
  readonly input: RsyncInput | null;
  readonly filter: FilterSpec;
  /** Seconds without I/O after which the worker stops the run (the stall backstop); null: never. */
  readonly stallS: number | null;
  /** Run confined to the tree (`confine.ts`): what rsync may read besides it and the system's files, and write. */
  readonly access: RunAccess;
}

export interface RsyncResult {
  /**
   * -1 when rsync was killed, 127 when it could not be run; 30 (rsync's own I/O timeout) when the stall
   * backstop stopped it.
   */
  readonly exitCode: number;
  readonly signal: string | null;
  readonly durationMs: number;
  /** An rsync process was started for it (counted as an rsync run). */
  readonly ran: boolean;
  /** Entries written to stdin (paths or rules). */
  readonly listed: number;
  /** Directories below a sent tree that could not be read (no permission): their contents were not sent. */
  readonly unreadable: readonly RelPath[];
  /** The regular files a tree walk listed for this run, with their signatures then. */
  readonly walked: ReadonlyMap<RelPath, FileSignature>;
  /** Regular files and bytes rsync sent (its `--stats`), null when it printed no summary. */
  readonly filesSent: number | null;
  readonly bytesSent: number | null;
  /** rsync's stderr but its lines about vanished sources, its newest lines when long (see `StderrKeeper`). */
  readonly stderr: string;
  /** Lines of `stderr` were dropped: its errors are not all known. */
  readonly stderrCut: boolean;
  /**
   * Its lines about a listed path that a symlink planted on the way took out of the tree, whose
   * read confinement refused: gone from the tree, as for rsync ≥ 3.5 (the swap has its own events).
   */
  readonly leftTree: readonly string[];
  /** The local replica was missing and was made again for this run: it lacks what it held (see `readyReplica`). */
  readonly replicaMadeAgain?: true;
  /**
   * Before this run, its daemon refused the task as busy `refusals` times in a row, its module's
   * `max connections` being `limit` (see `busyRerunWaitMs`): each was an rsync run.
   */
  readonly busy?: { readonly refusals: number; readonly limit: number };
}

/** rsync processes a batch's runs started (runs done without one are not counted). */
export function rsyncRunsOf(results: readonly RsyncResult[]): number {
  return results.reduce((n, r) => n + (r.ran ? 1 : 0) + (r.busy?.refusals ?? 0), 0);
}

/**
 * A send whose every listed file an earlier batch's walk already sent, unchanged since: done
 * without starting rsync (it would connect, authenticate and transfer nothing).
 */
export function nothingToSend(durationMs: number): RsyncResult {
  return { ...notRun(0, '', durationMs), filesSent: 0, bytesSent: 0 };
}

/**
 * A run that never reached rsync: `exitCode` says why (see the exit-code table), `stderr` in the
 * words an operator reads in status and the queue.
 */
export function notRun(exitCode: number, stderr: string, durationMs: number): RsyncResult {
  return {
    exitCode,
    signal: null,
    durationMs,
    ran: false,
    listed: 0,
    unreadable: [],
    walked: new Map(),
    filesSent: null,
    bytesSent: null,
    stderr,
    stderrCut: false,
    leftTree: [],
  };
}
