import { existsSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureReplicaDir } from '../owned-files.js';
import { displayPath, fromUtf8 } from '../paths.js';
import { readMountTable, type Mount } from '../watch/mounts.js';

/**
 * A local replica (`<remote path>`), which root writes on this machine. When the disk it is on is
 * unmounted (a USB backup disk unplugged, an NFS export gone), its path leads to the directory the
 * disk covered: rsync would write the tree there, on another disk (often /), and fill it while the
 * backup disk goes stale, as sersync's rsync did. So where the file system holding it was mounted
 * is recorded when watching begins, and every run first finds it still mounted there.
 */
export interface LocalReplica {
  readonly path: string;
  /** The mount point of its file system when recorded (bytes as text); null when unknown (no /proc). */
  readonly mount: string | null;
}

/** Why a run may not write the replica now; its pseudo exit code says which. */
export interface ReplicaProblem {
  readonly unmounted: boolean;
  readonly why: string;
}

/** The mount point of the file system holding `path` (real, bytes as text): the longest one above it. Pure. */
export function mountPointOf(path: string, mounts: readonly Mount[]): string | null {
  let best: string | null = null;
  for (const { point } of mounts)
    if (isAtOrBelow(path, point) && (best === null || point.length > best.length)) best = point;
  return best;
}

function isAtOrBelow(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(`${dir}/`);
}

/** Where the file system holding `path` is mounted now (or its nearest existing parent's: it may be gone). */
function mountNow(path: string): string | null {
  let existing = path;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    return mountPointOf(fromUtf8(realpathSync(existing)), readMountTable());
  } catch {
    return null;
  }
}

/** The replica at `path` with where its file system is mounted now (at start; see `LocalReplica`). */
export function recordReplica(path: string): LocalReplica {
  return { path, mount: mountNow(path) };
}

/**
 * The local replicas of one process, each recorded once: a reload while a disk is away keeps what
 * the start knew, so neither it nor the new engine's runs put the replica on the disk below.
 */
export class ReplicaRecords {
  private readonly known = new Map<string, LocalReplica>();

  /**
   * Makes the replica when missing (`ensureReplicaDir`: it throws where it may not be made) and
   * records it, unless the file system it was recorded on is away (`away` says so; nothing made).
   */
  prepare(path: string): { readonly created: boolean; readonly away: string | null } {
    const known = this.known.get(path);
    const away = known === undefined ? null : replicaUnmounted(known);
    if (away !== null) return { created: false, away };
    const created = ensureReplicaDir(path);
    if (known === undefined) this.known.set(path, recordReplica(path));
    return { created, away: null };
  }

  get(path: string): LocalReplica | undefined {
    return this.known.get(path);
  }
}

/**
 * Why the replica's file system is not there any more: the mount that held it is gone, so its path
 * now leads to the one below. A file system mounted deeper since (a new disk at the replica) is the
 * operator's choice and is written.
 */
export function replicaUnmounted(replica: LocalReplica): string | null {
  if (replica.mount === null) return null;
  const now = mountNow(replica.path);
  if (now === null || now === replica.mount || !isAtOrBelow(replica.mount, now)) return null;
  return (
    `the file system mounted at ${displayPath(replica.mount)} when sersync2 started, which holds the ` +
    `local replica ${replica.path}, is not mounted now: nothing is written to the one below it ` +
    `(${displayPath(now)}) until it is mounted again`
  );
}

/**
 * What keeps a run from writing the replica: its file system unmounted, or, when it is missing
 * (removed while running: the confined rsync may not make it), that it may not be made again where
 * it is (`ensureReplicaDir`). Made again when it may: rsync itself would.
 */
export function replicaProblem(replica: LocalReplica): ReplicaProblem | null {
  const unmounted = replicaUnmounted(replica);
  if (unmounted !== null) return { unmounted: true, why: unmounted };
  if (existsSync(replica.path)) return null;
  try {
    ensureReplicaDir(replica.path);
    return null;
  } catch (err) {
    return { unmounted: false, why: (err as Error).message };
  }
}
