import type { PathOp } from '../coalesce/types.js';
import type { Config, Remote } from '../config/types.js';
import type { FilterSpec } from '../filter/path-filter.js';
import { displayPath, isWithin, type RelPath } from '../paths.js';
import {
  anchoredPattern,
  deleteArgs,
  deleteRules,
  fullArgs,
  moveArgs,
  rootAttributeArgs,
  stallBackstopS,
  syncArgs,
} from './rsync-args.js';
import { runReads, runWrites } from './confine.js';
import type { LocalReplica } from './local-replica.js';
import type { DirIdentity } from './root-identity.js';
import type { FileSignature, RsyncTask } from './task.js';

/** Everything that shapes the rsync runs of one tree towards one remote. */
export interface PlanContext {
  readonly config: Config;
  readonly root: string;
  readonly remote: Remote;
  /**
   * Paths a full sync must neither send nor delete (a file system unmounted from the tree: the
   * replica keeps its copy until it is back).
   */
  readonly protect?: readonly RelPath[];
  /** The root's identity as the tree recorded it: every run checks it (see `RsyncTask.rootId`). */
  readonly rootId?: DirIdentity;
  /** A local remote's replica as recorded when watching began (see `RunAccess.replica`). */
  readonly replica?: LocalReplica | undefined;
  /** The tree's filter (`filterSpecOf` with the tree's watch: `root` may be where it leads now). */
  readonly filter: FilterSpec;
}

/** The fields every run of the tree shares. */
function treeOf(ctx: PlanContext): Pick<RsyncTask, 'cwd' | 'rootId'> {
  return ctx.rootId === undefined ? { cwd: ctx.root } : { cwd: ctx.root, rootId: ctx.rootId };
}

/** What every run to the remote is held to: the stall backstop, and what it may read and write. */
function runLimits({
  remote,
  config: { rsync },
  replica,
}: PlanContext): Pick<RsyncTask, 'stallS' | 'access'> {
  return {
    stallS: stallBackstopS(remote, rsync),
    access: {
      reads: runReads(remote, rsync),
      writes: runWrites(remote, rsync),
      ...(replica === undefined ? {} : { replica }),
    },
  };
}

/**
 * The run that rebuilds a directory renamed within the tree from its old copy on the replica
 * (`--link-dest`); null when it cannot be expressed (a name not valid UTF-8). It is an
 * optimisation only: the caller sends the directory whole when this is null or fails. Pure.
 */
export function planMove(op: MoveOp, ctx: PlanContext): RsyncTask | null {
  const { config, remote } = ctx;
  const args = moveArgs(remote, config.rsync, op.path, op.from, config.inotify.delete);
  return args === null
    ? null
    : {
        kind: 'move',
        ...treeOf(ctx),
        dir: op.path,
        ...runLimits(ctx),
        filter: ctx.filter,
        args,
        input: null,
      };
}

type MoveOp = Extract<PathOp, { kind: 'move' }>;

/**
 * The batch's directory renames in waves that may run at once: a rename joins the last wave when
 * its old and new names are unrelated to every name of that wave (neither within the other), and
 * starts a new wave otherwise, so renames that touch each other keep their order. Pure.
 */
export function moveWaves(moves: readonly MoveOp[]): MoveOp[][] {
  const waves: MoveOp[][] = [];
  const touches = (a: MoveOp, b: MoveOp): boolean =>
    [a.path, a.from].some((x) => [b.path, b.from].some((y) => isWithin(x, y) || isWithin(y, x)));
  for (const move of moves) {
    const last = waves.at(-1);
    if (last !== undefined && !last.some((m) => touches(m, move))) last.push(move);
    else waves.push([move]);
  }
  return waves;
}

/**
 * The rsync runs that carry a batch of operations to one remote, in the order they must run:
 * one run for every removal, one that prunes the trees that need it, then one run for every send;
 * a full resync runs alone. Moves are sent whole here (see `planMove` for the cheap way, which runs
 * before these). `sentAs`: files earlier batches' tree walks sent, among or below these ops (see
 * `RsyncInput`). Pure.
 */
export function planRuns(
  ops: readonly PathOp[],
  ctx: PlanContext,
  sentAs: ReadonlyMap<RelPath, FileSignature> = new Map(),
): RsyncTask[] {
  const { config, remote } = ctx;
  const rsync = config.rsync;
  const deleteEnabled = config.inotify.delete;
  const base = { ...treeOf(ctx), ...runLimits(ctx), filter: ctx.filter };
  const runs: RsyncTask[] = [];
  const removals: RelPath[] = [];
  const prunes: RelPath[] = [];
  const paths: RelPath[] = [];
  const trees: RelPath[] = [];
  let rootAttributes = false;
  for (const op of ops) {
    switch (op.kind) {
      case 'full': {
        const crontab = crontabExcludes(config);
        const kept = (ctx.protect ?? []).map((p) => anchoredPattern(displayPath(p)));
        runs.push({
          ...base,
          kind: 'full',
          args: fullArgs(remote, rsync, deleteEnabled, [...crontab, ...kept]),
          input: { kind: 'excluded' },
        });
        break;
      }
      case 'move':
        trees.push(op.path);
        break;
      case 'delete':
        removals.push(op.path);
        break;
      case 'sync':
        if (op.path === '') rootAttributes = true;
        else paths.push(op.path);
        break;
      case 'tree':
        trees.push(op.path);
        if (op.prune === true) prunes.push(op.path);
        break;
    }
  }
  if (removals.length > 0) {
    runs.push({
      ...base,
      kind: 'delete',
      args: deleteArgs(remote, rsync),
      input: { kind: 'rules', rules: deleteRules(removals) },
    });
  }
  if (prunes.length > 0 && deleteEnabled) {
    runs.push({
      ...base,
      kind: 'prune',
      args: deleteArgs(remote, rsync, true),
      input: { kind: 'rules', rules: deleteRules(prunes) },
    });
  }
  if (rootAttributes)
    runs.push({ ...base, kind: 'send', args: rootAttributeArgs(remote, rsync), input: null });
  if (paths.length + trees.length > 0) {
    runs.push({
      ...base,
      kind: 'send',
      args: syncArgs(remote, rsync),
      input: { kind: 'files', paths, trees, sentAs },
    });
  }
  return runs;
}

/**
 * The crontab filter's excludes, which full syncs carry only while the crontab itself is on: with
 * `<crontab start="false">`, sersync's `-r` sent everything whatever `<crontabfilter>` said. Pure.
 */
export function crontabExcludes(config: Config): readonly string[] {
  const { enabled, filter } = config.crontab;
  return enabled && filter.enabled ? filter.excludes : [];
}
