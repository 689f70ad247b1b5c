/**
 * The files this process writes (the fail log, the pid file, the log file, the state directory),
 * written so that nobody else can point them elsewhere. sersync2 usually runs as root, and some
 * of these files live where other users may create names (sersync's fail log defaults to
 * /tmp/rsync_fail_log.sh): a symlink or hard link planted at a name root opens would make root
 * write a file of the planter's choosing. So the way to a file must be one no other user can
 * change (`checkDirPath`), a name is never opened through a symlink (`O_NOFOLLOW`), a temporary
 * file is created exclusively under a random name (`O_EXCL`), and a file is replaced by renaming
 * over its name (a rename replaces a link, never follows it).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { basename, dirname } from 'node:path';
import { SersyncError } from './errors.js';
import { MAX_LINKS, resolveStepByStep, TooManyLinksError } from './resolve-path.js';

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;
/** The sticky bit (Node's fs.constants does not name it). */
const S_ISVTX = 0o1000;

/** Who other than this process's user may create or remove names in a directory. */
export interface OthersMayWrite {
  readonly dir: string;
  /** Its permission bits, e.g. 0o1777. */
  readonly mode: number;
  /** The sticky bit (/tmp): others cannot remove or rename what we created there. */
  readonly sticky: boolean;
}

/** Root or this process's user: the only owners who may change a name on the way to our files. */
function trusted(uid: number): boolean {
  return uid === 0 || uid === process.geteuid?.();
}

/**
 * Checks that no other user can change where `dir` leads (OpenSSH's safe_path): every component
 * of the path as written and, through each symlink, of where it leads, from `/` down, must belong
 * to root or this user; every directory passed through must be writable by nobody else unless it
 * is sticky (/tmp), where the entry we use below it is ours by the first rule. Missing directories
 * are created 0700 one at a time and checked like the others when `create`; else ENOENT is thrown.
 * Refusals are `refuse(why)`, naming the component. Returns who else may create or remove names
 * in the directory it leads to, for the caller to judge (null: nobody).
 */
export function checkDirPath(
  dir: string,
  refuse: (why: string) => Error,
  create = false,
): OthersMayWrite | null {
  trustedStat('/', refuse);
  const modeOf = (at: string): number => lstatSync(at).mode & 0o7777;
  let end: string;
  try {
    end = resolveStepByStep(dir, (here, at) => {
      const mode = modeOf(at);
      if ((mode & 0o022) !== 0 && (mode & S_ISVTX) === 0)
        throw refuse(`others can write ${at} (mode ${octal(mode)})`);
      const st = trustedStat(here, refuse, create);
      if (st.isSymbolicLink()) return readlinkSync(here);
      if (!st.isDirectory()) throw refuse(`${here} is not a directory`);
      return null;
    });
  } catch (err) {
    if (err instanceof TooManyLinksError) throw refuse(`too many symlinks on the way (at ${err.at})`);
    throw err;
  }
  const mode = modeOf(end);
  return (mode & 0o022) === 0 ? null : { dir: end, mode, sticky: (mode & S_ISVTX) !== 0 };
}

/** `path`'s own status (a link is not followed), created first as a directory when missing and `create`. */
function trustedStat(path: string, refuse: (why: string) => Error, create = false): Stats {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (!create || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirMissing(path);
    st = lstatSync(path);
  }
  if (!trusted(st.uid))
    throw refuse(
      `${st.isSymbolicLink() ? 'the symlink ' : ''}${path} belongs to another user (uid ${st.uid})`,
    );
  return st;
}

function mkdirMissing(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    // made meanwhile by someone: judged like any other
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** A sentence for the log about `exposure`, naming what lives there. */
export function exposureWarning(exposure: OthersMayWrite, what: string): string {
  const mode = `mode ${octal(exposure.mode)}`;
  return (
    `the ${what} is in ${exposure.dir}, which other users can write (${mode}); it is written without ` +
    `following links${exposure.sticky ? '' : ', but others can replace or remove it'}: ` +
    `an owner-only directory is safer`
  );
}

const TEMP_RANDOM_BYTES = 6;

/** Whether `name` is a temporary file `replaceFile` writes a file named `base` through (names as byte strings or text). */
export function isReplacingTemp(name: string, base: string): boolean {
  const random = name.slice(base.length + 2, -'.tmp'.length);
  return (
    name === `.${base}.${random}.tmp` && random.length === TEMP_RANDOM_BYTES * 2 && /^[0-9a-f]+$/.test(random)
  );
}

/**
 * Replaces `file` with `content` (mode `mode`): a temporary file with a random name in the same
 * directory, created exclusively without following links, written, then renamed over `file`.
 */
export function replaceFile(file: string, content: string | Buffer, mode = 0o600): void {
  // not path.join, which would take `..` before a link (where `checkDirPath` checked) by its text
  const temp = `${dirname(file)}/.${basename(file)}.${randomBytes(TEMP_RANDOM_BYTES).toString('hex')}.tmp`;
  const fd = openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    writeFileSync(fd, content);
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * `file` opened to read without following a link or waiting for a FIFO's writer, with its status;
 * null when there is none; 'link' for a symlink.
 */
function openNoFollow(file: string): { fd: number; st: Stats } | null | 'link' {
  let fd: number;
  try {
    fd = openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') return 'link';
    throw err;
  }
  return { fd, st: fstatSync(fd) };
}

/**
 * The bytes of a file we wrote earlier, when it is still a regular file of root's or this user's of
 * at most `maxBytes` (a symlink is not followed); null when there is none; `too-large` for such a
 * file past `maxBytes` and `other` for anything else, both unread: another user may put a file of
 * any size where ours was (in /tmp), and reading it whole would take the memory it holds.
 */
export function readFileNoFollow(file: string, maxBytes: number): Buffer | null | 'other' | 'too-large' {
  const opened = openNoFollow(file);
  if (opened === null || opened === 'link') return opened === null ? null : 'other';
  const { fd, st } = opened;
  try {
    if (!st.isFile() || !trusted(st.uid)) return 'other';
    return st.size <= maxBytes ? readFileSync(fd) : 'too-large';
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes of a file root reads where others may create names (sersync's fail log in /tmp);
 * null when it or its directory does not exist. Refused (a SersyncError naming it): a way to it
 * another user could change (see `checkDirPath`), a symlink, anything but a regular file (a FIFO
 * would block the read forever), another user's file, one with other hard links (a planted link to
 * a secret) and one larger than `maxBytes`.
 */
export function readOwnFile(file: string, what: string, maxBytes: number): Buffer | null {
  const refuse = (why: string): SersyncError => refused(file, what, why, 'read');
  let opened: ReturnType<typeof openNoFollow>;
  try {
    checkDirPath(dirname(file), refuse);
    opened = openNoFollow(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (opened === null) return null;
  if (opened === 'link') throw refuse('it is a symlink');
  const { fd, st } = opened;
  try {
    const problem = fileProblem(st) ?? (st.size > maxBytes ? `it is larger than ${maxBytes} bytes` : null);
    if (problem !== null) throw refuse(problem);
    // at most the size seen: a file others may write (sersync made it 0777) could grow while read
    const bytes = Buffer.alloc(st.size);
    let got = 0;
    for (let n = -1; n !== 0 && got < bytes.length; got += n)
      n = readSync(fd, bytes, got, bytes.length - got, got);
    return bytes.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Why root must not use the file of status `st` where others may create names; null when it may. */
function fileProblem(st: Stats): string | null {
  if (!st.isFile()) return 'it is not a regular file';
  if (!trusted(st.uid)) return `it belongs to another user (uid ${st.uid})`;
  return st.nlink > 1 ? 'it has other hard links' : null;
}

/**
 * Creates `file`'s directory (parents too, 0700) when missing and checks the way to it (see
 * `checkDirPath`); one others may write is accepted only when sticky (/tmp): elsewhere they could
 * swap the file for a link between two opens (e.g. at log rotation).
 */
export function ensureDirFor(file: string, what: string): void {
  const exposure = checkDirPath(dirname(file), (why) => refused(file, what, why), true);
  if (exposure !== null && !exposure.sticky)
    throw refused(file, what, `others can write its directory ${exposure.dir}; choose an owner-only one`);
}

/**
 * A descriptor to append to `file` (created with `mode` when missing, its directory too: see
 * `ensureDirFor`). Refused (a SersyncError naming the file): a symlink, anything but a regular
 * file, a file of another user and one with other hard links.
 */
export function openAppend(file: string, what: string, mode = 0o600): number {
  ensureDirFor(file, what);
  let fd: number;
  try {
    fd = openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (err) {
    // ELOOP; or EACCES for another user's link in a sticky directory, which O_CREAT meets first
    if (isSymlink(file)) throw refused(file, what, 'it is a symlink');
    throw err;
  }
  const problem = fileProblem(fstatSync(fd));
  if (problem === null) return fd;
  closeSync(fd);
  throw refused(file, what, problem);
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function refused(file: string, what: string, why: string, verb: 'read' | 'write' = 'write'): SersyncError {
  return new SersyncError('ERR_SERSYNC_UNSAFE_FILE', `refusing to ${verb} the ${what} ${file}: ${why}`);
}

/**
 * Creates `dir` (parents too, 0700) when missing; the way to it must be safe (see `checkDirPath`)
 * and nobody else may write it (its files would be theirs to replace).
 */
export function ensureOwnDir(dir: string, what: string): void {
  checkOwnDir(dir, what, true);
}

/**
 * Why `ensureOwnDir` would refuse `dir`, without creating anything (`sersync2 check`); null when it
 * would not. A directory still missing is no problem: it is created 0700 below a safe parent.
 */
export function ownDirProblem(dir: string, what: string): string | null {
  try {
    checkOwnDir(dir, what, false);
    return null;
  } catch (err) {
    if (err instanceof SersyncError) return err.message;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function checkOwnDir(dir: string, what: string, create: boolean): void {
  const exposure = checkDirPath(dir, (why) => refused(dir, what, why), create);
  if (exposure !== null)
    throw refused(dir, what, `others can write it (mode ${octal(exposure.mode)}); chmod 700 ${dir}`);
}

/**
 * A local replica (`<remote path>`): rsync writes the tree there as root, so nobody else may change
 * where its name leads. The way to it is held to `checkDirPath`, and its parent may be written by
 * nobody else, not even sticky (/tmp): `rsync -a` gives the replica the tree root's owner, who could
 * then rename it and put a link to /etc at its name. A symlink at its name must be root's or ours,
 * and so must the way to where it leads. The replica itself may belong to anyone (it is the tree's
 * copy). Created (0755, missing parents 0700) when missing and `create`; else a missing one is fine.
 */
function checkReplicaDir(dir: string, create: boolean): boolean {
  const refuse = (why: string): SersyncError => refused(dir, 'local replica', why);
  let path = dir;
  for (let links = 0; ; links++) {
    if (links > MAX_LINKS) throw refuse('too many symlinks at its name');
    const parent = dirname(path);
    const exposure = checkDirPath(parent, refuse, create);
    if (exposure !== null)
      throw refuse(
        `others can write ${exposure.dir} (mode ${octal(exposure.mode)}), where its name could be swapped for a link; put it in a directory only root may change`,
      );
    const st = lstatOrNull(path);
    if (st === null) {
      if (create) mkdirSync(path, { mode: 0o755 });
      return create;
    }
    if (st.isDirectory()) return false;
    if (!st.isSymbolicLink()) throw refuse(`${path} is not a directory`);
    if (!trusted(st.uid)) throw refuse(`the symlink ${path} belongs to another user (uid ${st.uid})`);
    const target = readlinkSync(path);
    path = target.startsWith('/') ? target : `${parent}/${target}`;
  }
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Creates a local replica when missing, after checking where it is (see `checkReplicaDir`); true if it did. */
export function ensureReplicaDir(dir: string): boolean {
  return checkReplicaDir(dir, true);
}

/** Why `ensureReplicaDir` would refuse `dir`, creating nothing (`sersync2 check`); null when it would not. */
export function replicaDirProblem(dir: string): string | null {
  try {
    checkReplicaDir(dir, false);
    return null;
  } catch (err) {
    if (err instanceof SersyncError) return err.message;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
