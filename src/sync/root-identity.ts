import { closeSync, fstatSync, lstatSync, readlinkSync, statSync } from 'node:fs';
import { limitReached } from '../process-start.js';
import { resolveStepByStep } from '../resolve-path.js';
import { openTreeDir } from './walk.js';

/**
 * Which directory a watched root is. The root must stay the directory it was when watching began
 * (device + inode): a root swapped for a symlink (`mv src src.old && ln -s /root/secret src`)
 * would otherwise have the replica made a copy of the link's target. A root the config names as a
 * symlink on purpose (`current -> releases/N`, switched by a deploy) is followed instead: the
 * watcher and rsync both use what it points to now. Pure but for `resolveWatchPath` and `lookAtRoot`.
 */

export interface DirIdentity {
  readonly dev: number;
  readonly ino: number;
  /** The owner: a directory put in the root's place by someone else is not the root. */
  readonly uid: number;
}

/** The directory rsync runs in: the root's real path and the identity it must still have. */
export interface RootSource {
  readonly dir: string;
  readonly id: DirIdentity;
}

/**
 * A symlink met on the way to the root (the root itself or any directory above it) that neither
 * root nor the owner of what it leads to made: whoever owns it can point it anywhere.
 */
export interface UntrustedLink {
  readonly path: string;
  readonly uid: number;
  readonly targetUid: number;
}

/** What is at the configured root path now. */
export type RootLook =
  | { readonly kind: 'missing' }
  /** It could not be looked at: out of descriptors (see `isExhaustion`), which says nothing of it. */
  | { readonly kind: 'unknown'; readonly why: string }
  /** Neither a directory nor a symlink to one. */
  | { readonly kind: 'other' }
  /** A directory (`resolved`: its real path, through any symlinked parents). */
  | {
      readonly kind: 'dir';
      readonly id: DirIdentity;
      readonly resolved: string;
      readonly untrusted: UntrustedLink | null;
    }
  /** A symlink to a directory. */
  | {
      readonly kind: 'link';
      readonly id: DirIdentity;
      readonly resolved: string;
      readonly untrusted: UntrustedLink | null;
    };

/** The root as watching began (or as last accepted). */
export interface RootOrigin {
  /** The config names a symlink: follow it when it is switched. */
  readonly follows: boolean;
  readonly id: DirIdentity;
  /** The real directory the watcher watches and rsync runs in. */
  readonly resolved: string;
}

export type RootVerdict =
  /** The same directory: carry on. */
  | 'same'
  /** Nothing usable there (deleted, moved away, a dangling link): wait for it. */
  | 'gone'
  /** Someone else's directory or a symlink where a directory was: refuse, send nothing. */
  | 'replaced'
  /** Another directory of the same owner (recreated, mounted over, remounted): watch it, resync. */
  | 'returned'
  /** The followed symlink points to another directory (a deploy): watch that one, resync. */
  | 'switched'
  /** It could not be looked at now: nothing is known to have changed; look again later. */
  | 'unknown';

/** Whether two identities are the same directory (device + inode; the owner may have changed). */
export function sameId(a: DirIdentity, b: DirIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export function judgeRoot(origin: RootOrigin, now: RootLook): RootVerdict {
  if (now.kind === 'unknown') return 'unknown';
  if (now.kind === 'missing' || now.kind === 'other') return 'gone';
  const same = sameId(now.id, origin.id);
  if (now.kind === 'link') {
    if (!origin.follows || now.untrusted !== null) return 'replaced';
    return same && now.resolved === origin.resolved ? 'same' : 'switched';
  }
  if (same) return 'same';
  // Reached through another user's link (a parent swapped for one), it is not ours to watch.
  if (now.untrusted !== null) return 'replaced';
  return now.id.uid === origin.id.uid ? 'returned' : 'replaced';
}

/** The origin a first look gives (null when the root is not a usable directory, or is reached through an untrusted link). */
export function originOf(look: RootLook): RootOrigin | null {
  if (look.kind !== 'dir' && look.kind !== 'link') return null;
  if (look.untrusted !== null) return null;
  return { follows: look.kind === 'link', id: look.id, resolved: look.resolved };
}

/** Why a root whose look gives no origin cannot be used (see `originOf`). */
export function unusableRoot(root: string, look: RootLook): string {
  if (look.kind === 'missing') return `${root}: it is not there`;
  if (look.kind === 'unknown') return `${root}: it cannot be looked at: ${look.why}`;
  if (look.kind === 'other' || look.untrusted === null) return `${root}: it is not a directory`;
  const link = look.untrusted;
  return (
    `${root}: it leads through ${link.path}, a symlink owned by uid ${link.uid} to a directory of uid ` +
    `${link.targetUid}, which its owner can point anywhere; every link on the way to a watch path must ` +
    `be root's or its target owner's`
  );
}

/**
 * `path`'s real path, resolved one component at a time, and the first symlink on the way that is
 * not trusted (null: none). A link is trusted when root made it or its owner owns what it leads to
 * (the rule of the kernel's fs.protected_symlinks): a deploy user's `current -> releases/N` is; a
 * link another user planted towards a directory not theirs (`/root/secret`) is not, wherever it is
 * on the way (`current -> releases/live` with `live` swapped for one, or a parent of the root).
 * Throws when the path cannot be resolved.
 */
export function resolveWatchPath(path: string): { resolved: string; untrusted: UntrustedLink | null } {
  let untrusted: UntrustedLink | null = null;
  const resolved = resolveStepByStep(path, (here) => {
    const own = lstatSync(here);
    if (!own.isSymbolicLink()) return null;
    const targetUid = statSync(here).uid;
    if (untrusted === null && own.uid !== 0 && own.uid !== targetUid)
      untrusted = { path: here, uid: own.uid, targetUid };
    return readlinkSync(here);
  });
  return { resolved, untrusted };
}

/**
 * Looks at the configured root path, without following a symlink at its last component blindly.
 * The identity is the directory's at the very path the resolution found, opened without following
 * a link, so the three agree even when a link on the way is switched meanwhile.
 */
export function lookAtRoot(root: string): RootLook {
  try {
    const own = lstatSync(root);
    if (!own.isDirectory() && !own.isSymbolicLink()) return { kind: 'other' };
    const { resolved, untrusted } = resolveWatchPath(root);
    const fd = openTreeDir(Buffer.from(resolved), '');
    if (fd === null) return { kind: 'other' };
    let st;
    try {
      st = fstatSync(fd);
    } finally {
      closeSync(fd);
    }
    const id = { dev: st.dev, ino: st.ino, uid: st.uid };
    return { kind: own.isSymbolicLink() ? 'link' : 'dir', id, resolved, untrusted };
  } catch (err) {
    // Out of descriptors, the directory cannot be opened, yet it is there: not a vanished root.
    const limit = limitReached(err);
    return limit === null ? { kind: 'missing' } : { kind: 'unknown', why: limit };
  }
}

/** Whether `dir` (a real path) is still the directory `id` names: checked before each rsync run. */
export function isSameDirectory(dir: string, id: DirIdentity): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && sameId(st, id);
  } catch {
    return false;
  }
}
