import { readFileSync } from 'node:fs';

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
}

/** `/proc/self/mountinfo` lines → mounts (fields 1 and 5; the point's `\040`-style escapes undone). */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const [id, , dev, , point] = fields;
    if (id === undefined || dev === undefined || point === undefined || id === '') continue;
    const unescaped = point.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    mounts.push({ id, dev, point: unescaped });
  }
  return mounts;
}

/** The mount ids by mount point strictly below `root` (the root's own mount is the caller's). */
export function mountsBelow(mounts: readonly Mount[], root: string): Map<string, string> {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const below = new Map<string, string>();
  // Later lines are later mounts: the last one at a point is the one on top.
  for (const m of mounts) if (m.point.startsWith(prefix)) below.set(m.point, m.id);
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

/** The process's mount table; empty when /proc is not there (the check is then a no-op). */
export function readMountTable(file = '/proc/self/mountinfo'): Mount[] {
  try {
    return parseMountinfo(readFileSync(file, 'latin1'));
  } catch {
    return [];
  }
}
