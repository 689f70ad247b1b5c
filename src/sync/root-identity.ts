import { lstatSync, realpathSync, statSync } from 'node:fs';

/**
 * Which directory a watched root is. The root must stay the directory it was when watching began
 * (device + inode): a root swapped for a symlink (`mv src src.old && ln -s /root/secret src`)
 * would otherwise have the replica made a copy of the link's target. A root the config names as a
 * symlink on purpose (`current -> releases/N`, switched by a deploy) is followed instead: the
 * watcher and rsync both use what it points to now. Pure but for `lookAtRoot`.
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

/** What is at the configured root path now. */
export type RootLook =
  | { readonly kind: 'missing' }
  /** Neither a directory nor a symlink to one. */
  | { readonly kind: 'other' }
  /** A directory (`resolved`: its real path, through any symlinked parents). */
  | { readonly kind: 'dir'; readonly id: DirIdentity; readonly resolved: string }
  /** A symlink to a directory; `linkUid`: the owner of the link itself. */
  | { readonly kind: 'link'; readonly id: DirIdentity; readonly resolved: string; readonly linkUid: number };

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
  | 'switched';

export function judgeRoot(origin: RootOrigin, now: RootLook): RootVerdict {
  if (now.kind === 'missing' || now.kind === 'other') return 'gone';
  const same = now.id.dev === origin.id.dev && now.id.ino === origin.id.ino;
  if (now.kind === 'link') {
    if (!origin.follows || !trustedLink(now)) return 'replaced';
    return same && now.resolved === origin.resolved ? 'same' : 'switched';
  }
  if (same) return 'same';
  return now.id.uid === origin.id.uid ? 'returned' : 'replaced';
}

/**
 * A symlink is followed only when root made it or its owner owns the directory it points to (the
 * rule of the kernel's fs.protected_symlinks): a deploy user's `current -> releases/N` is followed,
 * a link another user planted towards a directory not theirs (`/root/secret`) is not.
 */
export function trustedLink(look: Extract<RootLook, { kind: 'link' }>): boolean {
  return look.linkUid === 0 || look.linkUid === look.id.uid;
}

/** The origin a first look gives (null when the root is not a usable directory, or an untrusted link). */
export function originOf(look: RootLook): RootOrigin | null {
  if (look.kind === 'link' && !trustedLink(look)) return null;
  if (look.kind !== 'dir' && look.kind !== 'link') return null;
  return { follows: look.kind === 'link', id: look.id, resolved: look.resolved };
}

/** Looks at the configured root path, without following a symlink at its last component blindly. */
export function lookAtRoot(root: string): RootLook {
  try {
    const own = lstatSync(root);
    if (!own.isDirectory() && !own.isSymbolicLink()) return { kind: 'other' };
    const st = own.isSymbolicLink() ? statSync(root) : own;
    if (!st.isDirectory()) return { kind: 'other' };
    const id = { dev: st.dev, ino: st.ino, uid: st.uid };
    const resolved = realpathSync(root);
    return own.isSymbolicLink()
      ? { kind: 'link', id, resolved, linkUid: own.uid }
      : { kind: 'dir', id, resolved };
  } catch {
    return { kind: 'missing' };
  }
}

/** Whether `dir` (a real path) is still the directory `id` names: checked before each rsync run. */
export function isSameDirectory(dir: string, id: DirIdentity): boolean {
  try {
    const st = lstatSync(dir);
    return st.isDirectory() && st.dev === id.dev && st.ino === id.ino;
  } catch {
    return false;
  }
}
