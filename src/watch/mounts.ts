import { readFileSync, realpathSync, statSync } from 'node:fs';
import { displayPath, fromUtf8 } from '../paths.js';

/**
 * Mounts inside a watched tree. A file system mounted over a watched directory gives no inotify
 * event (the watch stays on the covered directory, which nobody sees any more), and one unmounted
 * drops its watches (IN_UNMOUNT, IN_IGNORED): both are found by comparing the mount table between
 * two looks. Pure but for `readMountTable`.
 */

/** One mount: its id (new for every mount, even at the same place), its device and where it is mounted. */
export interface Mount {
  readonly id: string;
  /** `major:minor`, as `deviceOf` writes a stat's `dev`. */
  readonly dev: string;
  readonly point: string;
  /** The file system type (`ext4`, `nfs4`, `fuse.sshfs`). */
  readonly fstype: string;
}

/** A mount table's `\040`-style escape (a space, a tab, a newline, a backslash in a point) undone. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * `/etc/fstab` lines → the points where file systems are meant to be mounted (the second field,
 * escapes undone; swap and other non-paths left out), whether mounted now or not (`noauto`).
 */
export function parseFstab(text: string): string[] {
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const [spec, point] = line.trim().split(/\s+/);
    if (spec === undefined || spec.startsWith('#') || point === undefined || !point.startsWith('/')) continue;
    points.push(unescapeOctal(point));
  }
  return points;
}

/**
 * `/proc/self/mountinfo` lines → mounts (fields 1, 3 and 5, and the type after the optional fields'
 * `-`; the point's `\040`-style escapes undone).
 */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const [id, , dev, , point] = fields;
    if (id === undefined || dev === undefined || point === undefined || id === '') continue;
    const unescaped = unescapeOctal(point);
    const dash = fields.indexOf('-', 6);
    mounts.push({ id, dev, point: unescaped, fstype: dash < 0 ? '' : (fields[dash + 1] ?? '') });
  }
  return mounts;
}

/**
 * File systems whose files can change without an inotify event on this host: written by other
 * hosts (NFS, SMB, cluster and shared-disk file systems, a VM's host share), or by a FUSE daemon
 * from what it is made of (sshfs, s3fs, rclone, mergerfs's branches, bindfs's source). inotify
 * sees only what goes through this host's mount.
 */
const SHARED_TYPES = new Set([
  '9p',
  'afs',
  'beegfs',
  'ceph',
  'cifs',
  'gfs2',
  'glusterfs',
  'gpfs',
  'lustre',
  'ncpfs',
  'nfs',
  'nfs4',
  'ocfs2',
  'smb3',
  'smbfs',
  'vboxsf',
  'virtiofs',
]);

/** Whether a file system of this type can change without an event here (see SHARED_TYPES). */
export function isSharedFileSystem(fstype: string): boolean {
  // fuseblk is a local disk's (NTFS, exFAT); fuse-overlayfs is made of local layers, like overlay.
  if (fstype === 'fuse' || fstype.startsWith('fuse.')) return fstype !== 'fuse.fuse-overlayfs';
  return SHARED_TYPES.has(fstype);
}

/** What a shared file system means for replication, as check, status and the log say it. */
export const SHARED_FILE_SYSTEM_EFFECT =
  'which other hosts (or its own daemon) can write: their changes give no inotify event here and arrive only with a full sync (<crontab>, sersync2 resync)';

/** A file system of a tree that can change without an event: where (relative, '' for the root's) and its type. */
export interface SharedMount {
  readonly path: string;
  readonly fstype: string;
}

/**
 * The shared file systems of the tree at `root` (its real path): the root's own, found by its
 * device (`rootDev`, as `deviceOf` writes it), and those mounted below it (the one on top at each point).
 */
export function sharedMountsOf(mounts: readonly Mount[], root: string, rootDev: string): SharedMount[] {
  const out: SharedMount[] = [];
  const own = mounts.findLast((m) => m.dev === rootDev);
  if (own !== undefined && isSharedFileSystem(own.fstype)) out.push({ path: '', fstype: own.fstype });
  const prefix = root.endsWith('/') ? root.length : root.length + 1;
  for (const [point, m] of topMountsBelow(mounts, root))
    if (isSharedFileSystem(m.fstype)) out.push({ path: point.slice(prefix), fstype: m.fstype });
  return out;
}

/** The mount ids by mount point strictly below `root` (the root's own mount is the caller's). */
export function mountsBelow(mounts: readonly Mount[], root: string): Map<string, string> {
  return new Map([...topMountsBelow(mounts, root)].map(([point, m]) => [point, m.id]));
}

/** The mount on top at each point strictly below `root`. */
function topMountsBelow(mounts: readonly Mount[], root: string): Map<string, Mount> {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const below = new Map<string, Mount>();
  // Later lines are later mounts: the last one at a point is the one on top.
  for (const m of mounts) if (m.point.startsWith(prefix)) below.set(m.point, m);
  return below;
}

export interface MountChanges {
  /** Points where a file system is on top now that was not before (mounted, or mounted again). */
  readonly mounted: readonly string[];
  /** Points with nothing mounted any more. */
  readonly unmounted: readonly string[];
}

/** What changed between two looks at the mounts below a root. */
export function diffMounts(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): MountChanges {
  const mounted = [...after].filter(([point, id]) => before.get(point) !== id).map(([point]) => point);
  const unmounted = [...before.keys()].filter((point) => !after.has(point));
  return { mounted, unmounted };
}

/** A stat's `dev` as `major:minor` (glibc's encoding of dev_t). */
export function deviceOf(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/** `sharedMountsOf` for a directory as it is now (paths as text); none when it cannot be looked at. */
export function sharedMountsAt(dir: string): SharedMount[] {
  try {
    const real = realpathSync(dir);
    return sharedMountsOf(readMountTable(), fromUtf8(real), deviceOf(statSync(real).dev)).map((m) => ({
      path: displayPath(m.path),
      fstype: m.fstype,
    }));
  } catch {
    return [];
  }
}

/** Where `/etc/fstab` means file systems to be (bytes as text); none when it cannot be read. */
export function readFstab(file = '/etc/fstab'): string[] {
  try {
    return parseFstab(readFileSync(file, 'latin1'));
  } catch {
    return [];
  }
}

/** The last table read from each file: see `readMountTable`. */
const lastRead = new Map<string, Mount[]>();

/**
 * The process's mount table; empty when /proc is not there (the check is then a no-op). When it
 * cannot be read now (out of descriptors), nothing says the mounts changed: the last table read
 * stands, or every mount in a tree would look unmounted, and then mounted again.
 */
export function readMountTable(file = '/proc/self/mountinfo'): Mount[] {
  try {
    const table = parseMountinfo(readFileSync(file, 'latin1'));
    lastRead.set(file, table);
    return table;
  } catch {
    return lastRead.get(file) ?? [];
  }
}
