/**
 * The daemon's password handed to a confined rsync in `RSYNC_PASSWORD` instead of its
 * `--password-file`. A file the confined rsync may read can be read through a planted link as
 * well (`x -> /etc` and a file `x/rsync.pas` listed), and sent to the replica: the backup
 * server's credentials. So the file is read here, as rsync reads it, and rsync never opens it.
 * When rsync would refuse the file (missing, others may read it, not root's while run as root,
 * no password in it) or its password is not text, the option stays, so that rsync says why
 * in its own words, as before; such a file holds nothing a link could take.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const OPTION = '--password-file=';

/** rsync reads this much of the file (authenticate.c, `getpassf`). */
const READ_BYTES = 511;

export interface PasswordInEnv {
  /** The run's argv without `--password-file`. */
  readonly argv: string[];
  /** The file it named: no longer to be read by rsync. */
  readonly file: string;
  readonly password: string;
}

/** `argv` with its password file read, or null when it names none or rsync must read it itself. */
export function passwordInEnv(argv: readonly string[], myUid: number): PasswordInEnv | null {
  const at = argv.findIndex((a) => a.startsWith(OPTION));
  const file = argv[at]?.slice(OPTION.length);
  if (file === undefined || file === '-') return null;
  const password = readAsRsync(file, myUid);
  if (password === null) return null;
  return { argv: argv.filter((_, i) => i !== at), file, password };
}

/** The first line of the file, as rsync takes it; null wherever rsync would refuse it. */
function readAsRsync(file: string, myUid: number): string | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if ((st.mode & 0o006) !== 0 || (myUid === 0 && st.uid !== 0)) return null;
    const buffer = Buffer.alloc(READ_BYTES);
    const n = readSync(fd, buffer, 0, READ_BYTES, null);
    // strtok(buffer, "\n\r"): the first run of bytes that are neither
    const token = /[^\n\r]+/.exec(buffer.subarray(0, n).toString('latin1'))?.[0];
    if (token === undefined) return null;
    const bytes = Buffer.from(token, 'latin1');
    const text = bytes.toString('utf8');
    // The environment is passed as UTF-8: a password in other bytes stays in its file.
    return Buffer.from(text, 'utf8').equals(bytes) && !text.includes('\0') ? text : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
