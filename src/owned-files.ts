/**
 * The files this process writes (the fail log, the pid file, the log file, the state directory),
 * written so that nobody else can point them elsewhere. sersync2 usually runs as root, and some
 * of these files live where other users may create names (sersync's fail log defaults to
 * /tmp/rsync_fail_log.sh): a symlink or hard link planted at a name root opens would make root
 * write a file of the planter's choosing. So a name is never opened through a symlink
 * (`O_NOFOLLOW`), a temporary file is created exclusively under a random name (`O_EXCL`), and a
 * file is replaced by renaming over its name (a rename replaces a link, never follows it).
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
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SersyncError } from './errors.js';

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

/** Null when only this process's user (or root) may change the entries of `dir`. */
export function othersMayWrite(dir: string): OthersMayWrite | null {
  const st = statSync(dir);
  const mode = st.mode & 0o7777;
  const foreignOwner = st.uid !== process.geteuid?.() && st.uid !== 0;
  if ((mode & 0o022) === 0 && !foreignOwner) return null;
  return { dir, mode, sticky: (mode & S_ISVTX) !== 0 };
}

/** A sentence for the log about `exposure`, naming what lives there. */
export function exposureWarning(exposure: OthersMayWrite, what: string): string {
  const mode = `mode ${exposure.mode.toString(8).padStart(4, '0')}`;
  return (
    `the ${what} is in ${exposure.dir}, which other users can write (${mode}); it is written without ` +
    `following links${exposure.sticky ? '' : ', but others can replace or remove it'}: ` +
    `an owner-only directory is safer`
  );
}

/**
 * Replaces `file` with `content` (mode `mode`): a temporary file with a random name in the same
 * directory, created exclusively without following links, written, then renamed over `file`.
 */
export function replaceFile(file: string, content: string | Buffer, mode = 0o600): void {
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
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
 * `file`'s bytes when it is a regular file (a symlink is not followed); null when there is none;
 * `other` for a symlink or anything else that is not a regular file.
 */
export function readFileNoFollow(file: string): Buffer | null | 'other' {
  let fd: number;
  try {
    fd = openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') return 'other';
    throw err;
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd) : 'other';
  } finally {
    closeSync(fd);
  }
}

/**
 * A descriptor to append to `file` (created with `mode` when missing, its directory too). Refused
 * (a SersyncError naming the file): a symlink, anything but a regular file, a file of another
 * user, one with other hard links, and a file in a directory others can write without the
 * sticky bit (they could swap it for a link between two opens, e.g. at log rotation).
 */
export function openAppend(file: string, what: string, mode = 0o600): number {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const exposure = othersMayWrite(dirname(file));
  if (exposure !== null && !exposure.sticky)
    throw refused(file, what, `others can write its directory ${exposure.dir}; choose an owner-only one`);
  let fd: number;
  try {
    fd = openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (err) {
    // ELOOP; or EACCES for another user's link in a sticky directory, which O_CREAT meets first
    if (isSymlink(file)) throw refused(file, what, 'it is a symlink');
    throw err;
  }
  const st = fstatSync(fd);
  const problem = !st.isFile()
    ? 'it is not a regular file'
    : st.uid !== process.geteuid?.()
      ? `it belongs to another user (uid ${st.uid})`
      : st.nlink > 1
        ? 'it has other hard links'
        : null;
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

function refused(file: string, what: string, why: string): SersyncError {
  return new SersyncError('ERR_SERSYNC_UNSAFE_FILE', `refusing to write the ${what} ${file}: ${why}`);
}

/**
 * Creates `dir` (parents too) owner-only when missing; an existing one must be a directory that
 * belongs to this user and that nobody else may write (its files would be theirs to replace).
 */
export function ensureOwnDir(dir: string, what: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!statSync(dir).isDirectory()) throw refused(dir, what, 'it is not a directory');
  const exposure = othersMayWrite(dir);
  if (exposure !== null) {
    const owner = statSync(dir).uid;
    throw refused(
      dir,
      what,
      owner !== process.geteuid?.()
        ? `it belongs to another user (uid ${owner})`
        : `others can write it (mode ${exposure.mode.toString(8).padStart(4, '0')}); chmod 700 ${dir}`,
    );
  }
}
