import { existsSync } from 'node:fs';
import { existingRealPath } from '../config/real-path.js';
import { ensureReplicaDir } from '../owned-files.js';
import { displayPath, fromUtf8 } from '../paths.js';
import { readFstab, readMountTable } from '../watch/mounts.js';

/**
 * A local replica (`<remote path>`), which root writes on this machine. When the disk it is on is
 * unmounted (a USB backup disk unplugged, an NFS export gone), its path leads to the directory the
 * disk covered: rsync would write the tree there, on another disk (often /), and fill it while the
 * backup disk goes stale, as sersync's rsync did. So where the file system holding it was mounted
 * is recorded when watching begins, and every run first finds it still mounted there. A disk that
 * is not mounted yet when watching begins is known by /etc/fstab, which says where it belongs.
 */
export interface LocalReplica {
  readonly path: string;
  /** The mount point of its file system (bytes as text); null when unknown (no /proc). */
  readonly mount: string | null;
  /** `mount` is where /etc/fstab puts a disk that was not mounted when recorded (else: mounted then). */
  readonly fstab: boolean;
}

/** Why a run may not write the replica now; its pseudo exit code says which. */
export interface ReplicaProblem {
  readonly unmounted: boolean;
  readonly why: string;
}

/** The deepest of the mount `points` at or above `path` (real, bytes as text): the one holding it. Pure. */
export function mountPointOf(path: string, points: readonly string[]): string | null {
  let best: string | null = null;
  for (const point of points)
    if (isAtOrBelow(path, point) && (best === null || point.length > best.length)) best = point;
  return best;
}

function isAtOrBelow(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(`${dir}/`);
}

/** Where the file system holding `path` is mounted now, and `path` with its links resolved (bytes as text). */
function mountNow(path: string): { readonly real: string; readonly mount: string | null } {
  const real = fromUtf8(existingRealPath(path));
  return {
    real,
    mount: mountPointOf(
      real,
      readMountTable().map((m) => m.point),
    ),
  };
}

/**
 * The replica at `path` with where its file system is mounted now (at start; see `LocalReplica`),
 * or, when /etc/fstab (`fstab`: its points) puts a disk deeper on its way that is not mounted now,
 * where that disk belongs: until it is mounted, the replica is not written.
 */
export function recordReplica(path: string, fstab: readonly string[] = readFstab()): LocalReplica {
  const { real, mount } = mountNow(path);
  const listed = mount === null ? null : mountPointOf(real, fstab);
  return listed !== null && mount !== null && listed.length > mount.length
    ? { path, mount: listed, fstab: true }
    : { path, mount, fstab: false };
}

/**
 * The local replicas of one process, each recorded once: a reload while a disk is away keeps what
 * the start knew, so neither it nor the new engine's runs put the replica on the disk below. A
 * record that came from /etc/fstab (`fstab`: its points) is taken again at each reload: the
 * operator may have mounted the disk, or removed a stale line.
 */
export class ReplicaRecords {
  private readonly known = new Map<string, LocalReplica>();
  /** Replicas `prepare` had to make, until `takeMade` (their remote gets the whole tree). */
  private readonly made = new Set<string>();

  constructor(private readonly fstab: () => readonly string[] = readFstab) {}

  /**
   * Makes the replica when missing (`ensureReplicaDir`: it throws where it may not be made) and
   * records it, unless the file system it was recorded on is away (`away` says so; nothing made).
   */
  prepare(path: string): { readonly created: boolean; readonly away: string | null } {
    const before = this.known.get(path);
    const known = before === undefined || before.fstab ? recordReplica(path, this.fstab()) : before;
    this.known.set(path, known);
    const away = replicaUnmounted(known);
    if (away !== null) return { created: false, away };
    const created = ensureReplicaDir(path);
    if (created) this.made.add(path);
    return { created, away: null };
  }

  /** Whether `prepare` made the replica at `path` since the last call: it holds nothing yet. */
  takeMade(path: string): boolean {
    return this.made.delete(path);
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
  const now = mountNow(replica.path).mount;
  if (now === null || now === replica.mount || !isAtOrBelow(replica.mount, now)) return null;
  const disk = replica.fstab
    ? `the file system /etc/fstab puts at ${displayPath(replica.mount)}`
    : `the file system mounted at ${displayPath(replica.mount)} when sersync2 started`;
  return (
    `${disk}, which holds the local replica ${replica.path}, is not mounted now: nothing is written ` +
    `to the one below it (${displayPath(now)}) until it is mounted${replica.fstab ? '' : ' again'}`
  );
}

/**
 * The replica made ready for a run: what keeps the run from writing it (its file system unmounted,
 * or, when it is missing, that it may not be made again where it is: `ensureReplicaDir`), or
 * whether it was missing and has been made again (removed while running: the confined rsync may
 * not make it). Made again, it holds nothing of what it held: the caller resyncs it.
 */
export function readyReplica(replica: LocalReplica): {
  readonly problem: ReplicaProblem | null;
  readonly madeAgain: boolean;
} {
  const unmounted = replicaUnmounted(replica);
  if (unmounted !== null) return { problem: { unmounted: true, why: unmounted }, madeAgain: false };
  if (existsSync(replica.path)) return { problem: null, madeAgain: false };
  try {
    return { problem: null, madeAgain: ensureReplicaDir(replica.path) };
  } catch (err) {
    return { problem: { unmounted: false, why: (err as Error).message }, madeAgain: false };
  }
}
