/**
 * The rsync password file, checked the way rsync checks it before every run: a file that others
 * can read is refused (and every sync fails), one owned by someone else is refused when rsync
 * runs as root. A file its group can read is accepted by rsync but exposes the secret.
 */
import {
  accessSync,
  closeSync,
  constants,
  lstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { quote } from 'shell-quote';

export interface FileFacts {
  readonly mode: number;
  readonly uid: number;
}

/** What is wrong with a file with these facts, and the command that fixes it (for `path`). */
function finding(path: string, facts: FileFacts, myUid: number): { what: string; fix: string } | null {
  const mode = (facts.mode & 0o777).toString(8).padStart(4, '0');
  const chmod = quote(['chmod', '600', path]);
  if ((facts.mode & 0o007) !== 0) {
    return {
      what: `can be read by others (mode ${mode}): rsync refuses it, so every sync would fail`,
      fix: chmod,
    };
  }
  if ((facts.mode & 0o070) !== 0) {
    return { what: `can be read by its group (mode ${mode}): the password is not private`, fix: chmod };
  }
  if (myUid === 0 && facts.uid !== 0) {
    return {
      what: `is owned by uid ${facts.uid}: rsync run as root refuses it`,
      fix: quote(['chown', 'root', path]),
    };
  }
  return null;
}

/** What is wrong with a password file with these facts, for a process of `myUid`; null if nothing. */
export function passwordFileProblem(path: string, facts: FileFacts, myUid: number): string | null {
  const f = finding(path, facts, myUid);
  return f === null ? null : `passwordfile ${path} ${f.what}; fix: ${f.fix}`;
}

/**
 * The same for a password file named through a symbolic link: rsync reads the target, and a
 * chmod or chown of the link would change whatever it points at (it may be /etc/shadow), so no
 * command is suggested: the operator must first see where the link leads.
 */
export function linkedPasswordFileProblem(
  link: string,
  target: string,
  facts: FileFacts,
  myUid: number,
): string | null {
  const f = finding(target, facts, myUid);
  if (f === null) return null;
  return (
    `passwordfile ${link} is a symbolic link to ${target}, which ${f.what}; check that the link ` +
    `points at the rsync password file before changing ${target} (never chmod or chown the link)`
  );
}

/**
 * A password file rsync cannot open (`reason`: missing, not readable by this user). rsync then stops
 * before connecting, and its only word on it ("could not open password file") precedes the
 * generic "syntax or usage error (code 1)" that every sync fails with.
 */
export function unreadablePasswordFile(path: string, reason: string): string {
  return (
    `passwordfile ${path} cannot be read (${reason}): rsync stops at "could not open password file", so ` +
    `every sync would fail with "syntax or usage error (code 1)"; fix: write the rsync module's password ` +
    `into it (one line), then ${quote(['chmod', '600', path])}, or turn <auth start> off`
  );
}

/** rsync reads at most this much of it (authenticate.c: a 512-byte buffer). */
const RSYNC_READS = 511;

/**
 * What is wrong with the password rsync would send: its first line that is not empty, as rsync
 * reads it (authenticate.c: strtok on CR and LF, spaces kept). A line `USER:secret` is the
 * daemon's secrets-file form, copied to the client by mistake: rsync sends all of it as the password.
 */
export function passwordProblem(path: string, content: Buffer, user: string): string | null {
  const password = content
    .subarray(0, RSYNC_READS)
    .toString('latin1')
    .split(/[\r\n]+/)
    .find((l) => l !== '');
  if (password === undefined)
    return (
      `passwordfile ${path} holds no password: rsync stops at "failed to read a password", so every ` +
      'sync would fail with "syntax or usage error (code 1)"; fix: write the rsync module\'s password into it'
    );
  if (user !== '' && password.startsWith(`${user}:`))
    return (
      `passwordfile ${path} holds "${user}:…", the form of the daemon's secrets file: rsync sends the whole ` +
      'line as the password, so every sync would fail with "auth failed"; fix: keep only the password in it'
    );
  return null;
}

function readHead(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO swapped in never blocks
  try {
    const buf = Buffer.alloc(RSYNC_READS);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Looks at the file itself, as the user sersync2 runs as (rsync reads it as that user), and at the
 * password in it for the daemon user `user`.
 */
export function inspectPasswordFile(path: string, user: string): string | null {
  const myUid = process.getuid?.() ?? -1;
  try {
    accessSync(path, constants.R_OK);
    const st = statSync(path);
    const problem = lstatSync(path).isSymbolicLink()
      ? linkedPasswordFileProblem(path, realpathSync(path), st, myUid)
      : passwordFileProblem(path, st, myUid);
    return problem ?? (st.isFile() ? passwordProblem(path, readHead(path), user) : null);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return unreadablePasswordFile(path, code === 'ENOENT' ? 'it does not exist' : (code ?? String(err)));
  }
}
